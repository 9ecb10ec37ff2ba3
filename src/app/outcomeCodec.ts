import { Schema } from "effect"
import { eventFromStored, eventPayload } from "../domain/index.ts"
import type { Outcome } from "./CommandHandler.ts"
import { decodeState } from "./sessionCodec.ts"

/**
 * An outcome as kept with its idempotency key, so that a retry renders the answer the first request
 * had. The last event id is not known before the commit, which keeps it beside this record.
 */
const StoredOutcome = Schema.fromJsonString(Schema.Struct({
  version: Schema.Number,
  serverTimeMs: Schema.Number,
  /** encodeState's encoding; "" once the session is deleted. */
  state: Schema.String,
  events: Schema.Array(Schema.Struct({ type: Schema.String, at: Schema.Number, payload: Schema.Record(Schema.String, Schema.Unknown) }))
}))

const encodeStored = Schema.encodeSync(StoredOutcome)
const decodeStored = Schema.decodeUnknownSync(StoredOutcome)

/** `encodedState` is the outcome's state as `encodeState` wrote it ("" once deleted): the commit has it at hand. */
export const encodeOutcome = ({ events, version, serverTimeMs }: Outcome, encodedState: string): string =>
  encodeStored({
    version,
    serverTimeMs,
    state: encodedState,
    events: events.map((event) => ({ type: event.type, at: event.at, payload: eventPayload(event) }))
  })

/** Throws on a record of another shape: only this module writes them. */
export const decodeOutcome = (stored: string, lastEventId: string): Outcome => {
  const { state, events, version, serverTimeMs } = decodeStored(stored)
  return {
    state: state === "" ? null : decodeState(state),
    events: events.map(({ type, at, payload }) => eventFromStored(type, at, payload)),
    version,
    lastEventId,
    serverTimeMs,
    replayed: true
  }
}
