import { eventFromStored, eventPayload, type SessionEvent } from "../domain/index.ts"
import type { NewEvent, StoredEvent } from "../infra/EventStore.ts"

/** States are stored in the versioned form of `snapshotCodec`, which the audit's PostgreSQL rows read too. */
export { decodeState, encodeState } from "../infra/snapshotCodec.ts"

export const toNewEvent = (event: SessionEvent, version: number): NewEvent => ({
  type: event.type,
  version,
  at: event.at,
  payload: JSON.stringify(eventPayload(event))
})

/** An event read back (from Redis or the audit) or a shard-log entry: each carries its type, time and payload. */
export const fromStoredEvent = (stored: Pick<StoredEvent, "type" | "at" | "payload">): SessionEvent =>
  eventFromStored(stored.type, stored.at, JSON.parse(stored.payload) as Record<string, unknown>)
