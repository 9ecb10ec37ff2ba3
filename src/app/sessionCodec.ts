import { eventFromStored, eventPayload, type SessionEvent, type SessionState } from "../domain/index.ts"
import type { NewEvent, StoredEvent } from "../infra/EventStore.ts"

/** Snapshots are written only by this service, so decoding trusts their shape. */
export const encodeState = (state: SessionState): string => JSON.stringify(state)
export const decodeState = (json: string): SessionState => JSON.parse(json) as SessionState

export const toNewEvent = (event: SessionEvent, version: number, stateAfter: SessionState | null): NewEvent => ({
  type: event.type,
  version,
  at: event.at,
  payload: JSON.stringify(eventPayload(event)),
  stateAfter: stateAfter === null ? "" : encodeState(stateAfter)
})

export const fromStoredEvent = (stored: StoredEvent): SessionEvent =>
  eventFromStored(stored.type, stored.at, JSON.parse(stored.payload) as Record<string, unknown>)
