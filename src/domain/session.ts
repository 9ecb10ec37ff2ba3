import type { EpochMs, Millis } from "./time.ts"

export const SYNC_MODES = ["per_participant", "per_cycle", "per_group", "global", "count_up"] as const
export type SyncMode = (typeof SYNC_MODES)[number]

export const STATUSES = ["pending", "running", "paused", "expired", "completed", "cancelled"] as const
export type Status = (typeof STATUSES)[number]

export const TIMEOUT_ACTIONS = ["end_session", "skip_cycle", "notify"] as const
export type TimeoutAction = (typeof TIMEOUT_ACTIONS)[number]

export const isTerminal = (status: Status): boolean =>
  status === "expired" || status === "completed" || status === "cancelled"

export interface ParticipantSpec {
  readonly participantId: string
  readonly participantIndex: number
  /** The participant's own bank; only per_participant runs on it. */
  readonly totalTimeMs: Millis
  readonly groupId: string | null
}

/** Everything fixed when the session is created. */
export interface SessionConfig {
  readonly sessionId: string
  readonly syncMode: SyncMode
  /** Sorted by participantIndex: the order in which the turn passes. */
  readonly participants: ReadonlyArray<ParticipantSpec>
  readonly totalTimeMs: Millis
  readonly timePerCycleMs: Millis | null
  readonly incrementMs: Millis
  readonly maxTimeMs: Millis | null
  readonly actionOnTimeout: TimeoutAction
  readonly autoAdvance: boolean
  /** Remaining times, longest first, at which a running turn emits TIMEOUT_WARNING once. */
  readonly timeoutWarningsMs: ReadonlyArray<Millis>
  readonly metadata: Readonly<Record<string, unknown>> | null
}

export interface ParticipantState {
  readonly participantId: string
  readonly participantIndex: number
  readonly groupId: string | null
  /** Time used in completed segments (a running segment is added when it ends). */
  readonly timeUsedMs: Millis
  readonly cycleCount: number
  readonly hasExpired: boolean
}

/**
 * The session as folded from its events. Clocks never tick: `banks` holds each clock's remaining time
 * as of `cycleStartedAt` (while running) or as of the last event (otherwise), and the remaining time
 * of the running clock is computed from timestamps when asked.
 */
export interface SessionState {
  readonly config: SessionConfig
  readonly status: Status
  readonly version: number
  readonly participants: ReadonlyArray<ParticipantState>
  readonly activeParticipantId: string | null
  readonly banks: Readonly<Record<string, Millis>>
  /** Start of the running segment: the turn's start, or the last resume. Null unless running. */
  readonly cycleStartedAt: EpochMs | null
  /** Warning thresholds already emitted in the current turn. */
  readonly warnedMs: ReadonlyArray<Millis>
  readonly sessionStartedAt: EpochMs | null
  readonly sessionCompletedAt: EpochMs | null
  readonly createdAt: EpochMs
  readonly updatedAt: EpochMs
}
