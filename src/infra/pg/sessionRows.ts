import type { SessionState, Status } from "../../domain/index.ts"
import type { AuditBatch, AuditEvent } from "../audit/AuditBatch.ts"

/** What one batch knows of one session, as the `sessions` upsert takes it. Times are epoch ms. */
export interface SessionRow {
  readonly sessionId: string
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
 * One row per session of the batch, sorted by session id: concurrent transactions then lock the
 * rows they share in the same order and cannot deadlock.
 */
export const sessionRowsOf = (batch: AuditBatch): ReadonlyArray<SessionRow> => {
  const snapshots = new Map(batch.snapshots.map((s) => [s.sessionId, s]))
  const last = new Map<string, AuditEvent>()
  const deletedAt = new Map<string, number>()
  for (const event of batch.events) {
    if ((last.get(event.sessionId)?.version ?? 0) < event.version) last.set(event.sessionId, event)
    if (event.type === "SESSION_DELETED") deletedAt.set(event.sessionId, event.at)
  }
  return [...last.values()].map((event): SessionRow => {
    const snapshot = snapshots.get(event.sessionId)
    const state = snapshot === undefined ? null : JSON.parse(snapshot.state) as SessionState
    const deleted = deletedAt.get(event.sessionId) ?? null
    return {
      sessionId: event.sessionId,
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
