import { Context } from "effect"
import type { LogGap } from "../logLook.ts"
import type { WriteResult } from "../pg/AuditRepository.ts"
import type { AuditBatch } from "./AuditBatch.ts"

/**
 * What the audit path reports as it works, for the app to turn into metrics. Infra calls it; the app
 * provides the implementation (prom-client), so infra needs no metrics library.
 */
export class AuditObserver extends Context.Service<AuditObserver, {
  /** Entries of a shard log handed to the queue, `reclaimed` when taken over from a dead consumer. */
  readonly handedOff: (entries: number, reclaimed: boolean) => void
  /** Entries that left a shard log before the projector took them (the log's hard cap was reached). */
  readonly lost: (entries: number) => void
  /** Shard logs Redis lost (and created again) with entries the projector may not have taken. */
  readonly gaps: (gaps: ReadonlyArray<LogGap>) => void
  /** A batch committed to PostgreSQL at `atMs` (Redis clock). */
  readonly written: (batch: AuditBatch, result: WriteResult, atMs: number) => void
  /** A job attempt failed; `parked` when it was its last and the job now waits to be re-driven. */
  readonly failed: (parked: boolean) => void
}>()("synckairos/infra/AuditObserver") {}
