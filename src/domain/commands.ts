import type { SyncMode, TimeoutAction } from "./session.ts"
import type { Millis } from "./time.ts"

/** What a client asks for when creating a session; optional fields fall back to the mode's defaults. */
export interface CreateSessionInput {
  readonly sessionId: string
  readonly syncMode: SyncMode
  readonly participants: ReadonlyArray<{
    readonly participantId: string
    readonly participantIndex?: number | undefined
    readonly totalTimeMs?: Millis | undefined
    readonly groupId?: string | undefined
  }>
  readonly totalTimeMs: Millis
  readonly timePerCycleMs?: Millis | undefined
  readonly incrementMs?: Millis | undefined
  readonly maxTimeMs?: Millis | undefined
  readonly actionOnTimeout?: TimeoutAction | undefined
  readonly autoAdvance?: boolean | undefined
  readonly timeoutWarningsMs?: ReadonlyArray<Millis> | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/** Imperative: what a client wants done to one session. */
export type Command =
  | { readonly type: "CreateSession"; readonly input: CreateSessionInput }
  | { readonly type: "StartSession" }
  | {
    readonly type: "SwitchCycle"
    readonly nextParticipantId?: string | undefined
    /** Set when a participant switches for itself: it may end only its own turn. */
    readonly actingParticipantId?: string | undefined
  }
  | { readonly type: "PauseSession" }
  | { readonly type: "ResumeSession" }
  | { readonly type: "CompleteSession" }
  | { readonly type: "CancelSession" }
  | { readonly type: "DeleteSession" }
  /** The server's own: apply every warning and timeout that has fallen due. */
  | { readonly type: "SettleDue" }

export type CommandType = Command["type"]
