import { eventFromStored, eventPayload, type SessionEvent, type SessionState } from "../domain/index.ts"
import type { NewEvent, StoredEvent } from "../infra/EventStore.ts"

/** Snapshots are written only by this service, so decoding trusts their shape. */
export const encodeState = (state: SessionState): string => JSON.stringify(state)
export const decodeState = (json: string): SessionState => JSON.parse(json) as SessionState

export const toNewEvent = (event: SessionEvent, version: number): NewEvent => ({
  type: event.type,
  version,
  at: event.at,
  payload: JSON.stringify(eventPayload(event))
})

/** A session-stream event or a shard-log entry: both carry the event's type, time and payload. */
export const fromStoredEvent = (stored: Pick<StoredEvent, "type" | "at" | "payload">): SessionEvent =>
  eventFromStored(stored.type, stored.at, JSON.parse(stored.payload) as Record<string, unknown>)
