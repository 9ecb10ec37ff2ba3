import type { Status } from "../../domain/index.ts"
import { type AuditBatch, type AuditEvent, compareEventOrder } from "../audit/AuditBatch.ts"
import { decodeState } from "../snapshotCodec.ts"

/** What one batch knows of one session, as the `sessions` upsert takes it. Times are epoch ms. */
export interface SessionRow {
  readonly sessionId: string
  /** The newest session of this id the batch holds events of: the row follows it. */
  readonly incarnation: string
  readonly syncMode: string | null
  /** JSON. */
  readonly config: string | null
  readonly createdAt: number | null
  readonly startedAt: number | null
  readonly endedAt: number | null
  readonly deletedAt: number | null
  readonly status: Status | "deleted"
  readonly lastVersion: number
  readonly lastEventId: string
  readonly lastEventAt: number
  readonly snapshotVersion: number | null
  /** JSON. */
  readonly snapshot: string | null
}

/**
 * One row per session id of the batch, for the newest session of that id in it, sorted by session
 * id: concurrent transactions then lock the rows they share in the same order and cannot deadlock.
 */
export const sessionRowsOf = (batch: AuditBatch): ReadonlyArray<SessionRow> => {
  const last = new Map<string, AuditEvent>()
  for (const event of batch.events) {
    const previous = last.get(event.sessionId)
    if (previous === undefined || compareEventOrder(previous, event) < 0) last.set(event.sessionId, event)
  }
  const ofLast = (item: { readonly sessionId: string; readonly incarnation: string }) =>
    last.get(item.sessionId)?.incarnation === item.incarnation
  const snapshots = new Map(batch.snapshots.filter(ofLast).map((s) => [s.sessionId, s]))
  const deletedAt = new Map(batch.events.filter((e) => e.type === "SESSION_DELETED" && ofLast(e)).map((e) => [e.sessionId, e.at]))
  return [...last.values()].map((event): SessionRow => {
    const snapshot = snapshots.get(event.sessionId)
    const state = snapshot === undefined ? null : decodeState(snapshot.state)
    const deleted = deletedAt.get(event.sessionId) ?? null
    return {
      sessionId: event.sessionId,
      incarnation: event.incarnation,
      syncMode: state?.config.syncMode ?? null,
      config: state === null ? null : JSON.stringify(state.config),
      createdAt: state?.createdAt ?? null,
      startedAt: state?.sessionStartedAt ?? null,
      endedAt: state?.sessionCompletedAt ?? null,
      deletedAt: deleted,
      // Only a deletion leaves no state after it.
      status: deleted !== null || state === null ? "deleted" : state.status,
      lastVersion: event.version,
      lastEventId: event.eventId,
      lastEventAt: event.at,
      snapshotVersion: snapshot?.version ?? null,
      snapshot: snapshot?.state ?? null
    }
  }).sort((a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0))
}
