import type { SessionState } from "../domain/index.ts"
import type { LogEntry } from "../infra/ShardLogReader.ts"
import { decodeState } from "./sessionCodec.ts"

/** A session's snapshot as this instance last committed it or read it in the shard log. */
export interface CachedSnapshot {
  readonly version: number
  readonly lastEventId: string
  readonly state: SessionState
}

interface Slot {
  version: number
  lastEventId: string
  /** Decoded when first needed: most snapshots read from the log are replaced before they are used. */
  state: SessionState | string
}

export type SnapshotCache = ReturnType<typeof makeSnapshotCache>

/**
 * The latest snapshot of the sessions this instance committed to lately, so that their next command
 * is decided without a load round trip. It is a guess that the commit checks: commit-7 takes the
 * version and last stream id the command was decided on and answers Conflict or Stale when the
 * session moved on elsewhere. Entries of the shard log keep the sessions held here current. It holds
 * at most `capacity` sessions (0 turns it off); the least recently committed to leave first.
 */
export const makeSnapshotCache = (capacity: number) => {
  const slots = new Map<string, Slot>()

  const get = (sessionId: string): CachedSnapshot | undefined => {
    const slot = slots.get(sessionId)
    if (slot === undefined) return undefined
    if (typeof slot.state === "string") slot.state = decodeState(slot.state)
    return slot as CachedSnapshot
  }

  /** The snapshot a commit here produced; null when the session is gone or nothing will follow. */
  const remember = (sessionId: string, snapshot: CachedSnapshot | null) => {
    slots.delete(sessionId)
    if (snapshot === null || capacity === 0) return
    slots.set(sessionId, { ...snapshot })
    if (slots.size > capacity) slots.delete(slots.keys().next().value!)
  }

  /** Commits from any instance, in log order: newer versions of the sessions held replace theirs. */
  const observe = (entries: ReadonlyArray<LogEntry>) => {
    for (const entry of entries) {
      const slot = slots.get(entry.sessionId)
      if (slot === undefined || entry.version <= slot.version) continue
      if (entry.stateAfter === "") {
        slots.delete(entry.sessionId)
        continue
      }
      slot.version = entry.version
      slot.lastEventId = entry.eventId
      slot.state = entry.stateAfter
    }
  }

  return { get, remember, forget: (sessionId: string) => void slots.delete(sessionId), observe, size: () => slots.size }
}
