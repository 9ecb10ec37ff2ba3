import { eventFromStored, eventPayload, type SessionEvent, type SessionState } from "../domain/index.ts"
import type { NewEvent, StoredEvent } from "../infra/EventStore.ts"
import { encodeState } from "../infra/snapshotCodec.ts"

/** States are stored in the versioned form of `snapshotCodec`, which the audit's PostgreSQL rows read too. */
export { decodeState, encodeState } from "../infra/snapshotCodec.ts"

export const toNewEvent = (event: SessionEvent, version: number, stateAfter: SessionState | null): NewEvent => ({
  type: event.type,
  version,
  at: event.at,
  payload: JSON.stringify(eventPayload(event)),
  stateAfter: stateAfter === null ? "" : encodeState(stateAfter)
})

export const fromStoredEvent = (stored: StoredEvent): SessionEvent =>
  eventFromStored(stored.type, stored.at, JSON.parse(stored.payload) as Record<string, unknown>)
