import { evolve, type SessionState } from "../domain/index.ts"
import type { LogEntry } from "../infra/streamEntries.ts"
import { fromStoredEvent } from "./sessionCodec.ts"

/** A session's snapshot as this instance last committed it or folded it from the shard log. */
export interface CachedSnapshot {
  readonly version: number
  readonly lastEventId: string
  readonly state: SessionState
}

export type SnapshotCache = ReturnType<typeof makeSnapshotCache>

/**
 * The latest snapshot of the sessions this instance committed to lately, so that their next command
 * is decided without a load round trip. It is a guess that the commit checks: commit-7 takes the
 * version and last event id the command was decided on and answers Conflict or Stale when the
 * session moved on elsewhere. Entries of the shard log keep the sessions held here current: each
 * event is folded into the held state, as the committing instance did. It holds at most `capacity`
 * sessions (0 turns it off); the least recently committed to leave first.
 */
export const makeSnapshotCache = (capacity: number) => {
  const slots = new Map<string, CachedSnapshot>()

  const get = (sessionId: string): CachedSnapshot | undefined => slots.get(sessionId)

  /** The snapshot a commit here produced; null when the session is gone or nothing will follow. */
  const remember = (sessionId: string, snapshot: CachedSnapshot | null) => {
    slots.delete(sessionId)
    if (snapshot === null || capacity === 0) return
    slots.set(sessionId, snapshot)
    if (slots.size > capacity) slots.delete(slots.keys().next().value!)
  }

  /**
   * Commits from any instance, in log order: the next version of a held session is folded into it.
   * A deletion, or an entry past the next version (one was missed), leaves nothing to fold into.
   */
  const observe = (entries: ReadonlyArray<LogEntry>) => {
    for (const entry of entries) {
      const held = slots.get(entry.sessionId)
      if (held === undefined || entry.version <= held.version) continue
      // The domain's evolve leaves no state after a deletion.
      const state = entry.version === held.version + 1 ? evolve(held.state, fromStoredEvent(entry)) : null
      if (state === null) slots.delete(entry.sessionId)
      else slots.set(entry.sessionId, { version: entry.version, lastEventId: entry.eventId, state })
    }
  }

  return { get, remember, forget: (sessionId: string) => void slots.delete(sessionId), observe, size: () => slots.size }
}
