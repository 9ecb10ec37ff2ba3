import type { SessionConfig } from "./session.ts"
import type { EpochMs, Millis } from "./time.ts"

/** Facts, past tense. Each carries the instant it happened; evolve derives every number from them. */
export type SessionEvent =
  | { readonly type: "SESSION_CREATED"; readonly at: EpochMs; readonly config: SessionConfig }
  | { readonly type: "SESSION_STARTED"; readonly at: EpochMs; readonly activeParticipantId: string }
  | {
    readonly type: "CYCLE_SWITCHED"
    readonly at: EpochMs
    readonly fromParticipantId: string
    readonly toParticipantId: string
    /** Added to the finished turn's bank (Fischer increment); 0 when none applies. */
    readonly incrementMs: Millis
  }
  | { readonly type: "SESSION_PAUSED"; readonly at: EpochMs }
  | { readonly type: "SESSION_RESUMED"; readonly at: EpochMs }
  | {
    readonly type: "TIME_EXPIRED"
    /** The instant the clock reached zero, not the instant it was noticed. */
    readonly at: EpochMs
    readonly participantId: string
    /** Participants eliminated by this timeout; empty when the session only notifies or auto-advances. */
    readonly expiredParticipantIds: ReadonlyArray<string>
  }
  | {
    readonly type: "TIMEOUT_WARNING"
    /** The instant the remaining time reached the threshold. */
    readonly at: EpochMs
    readonly participantId: string
    readonly thresholdMs: Millis
  }
  | { readonly type: "SESSION_EXPIRED"; readonly at: EpochMs }
  | { readonly type: "SESSION_COMPLETED"; readonly at: EpochMs }
  | { readonly type: "SESSION_CANCELLED"; readonly at: EpochMs }
  | { readonly type: "SESSION_DELETED"; readonly at: EpochMs }

export type EventType = SessionEvent["type"]

/** The stored form: type and time travel as their own fields, the rest as the payload. */
export const eventPayload = (event: SessionEvent): Record<string, unknown> => {
  const { type: _type, at: _at, ...payload } = event
  return payload
}

export const eventFromStored = (type: string, at: EpochMs, payload: Record<string, unknown>): SessionEvent =>
  ({ ...payload, type, at }) as SessionEvent
