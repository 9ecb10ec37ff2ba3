import type { ParticipantState, SessionConfig, SessionState, SyncMode } from "./session.ts"
import { elapsedSince, type EpochMs, MAX_CLOCK_MS, type Millis } from "./time.ts"

/**
 * Which clock a participant's turn runs. Modes differ only in this mapping and in each clock's
 * initial bank; all time math below is shared.
 *   per_participant  each participant's own bank
 *   per_group        the bank of the participant's group
 *   per_cycle        one cycle clock, refilled at every turn
 *   global/count_up  one session clock, whoever is active
 */
export const clockKey = (mode: SyncMode, participant: { participantId: string; groupId: string | null }): string => {
  switch (mode) {
    case "per_participant":
      return `participant:${participant.participantId}`
    case "per_group":
      return `group:${participant.groupId ?? ""}`
    case "per_cycle":
      return "cycle"
    case "global":
    case "count_up":
      return "session"
  }
}

/** count_up runs down a hidden bank of `maxTimeMs` so that its cap is just another expiry. */
export const countUpCap = (config: SessionConfig): Millis => config.maxTimeMs ?? MAX_CLOCK_MS

export const initialBanks = (config: SessionConfig): Record<string, Millis> => {
  const banks: Record<string, Millis> = {}
  switch (config.syncMode) {
    case "per_participant":
      for (const p of config.participants) banks[clockKey("per_participant", p)] = p.totalTimeMs
      break
    case "per_group":
      for (const p of config.participants) banks[clockKey("per_group", p)] = config.totalTimeMs
      break
    case "per_cycle":
      banks["cycle"] = config.timePerCycleMs ?? config.totalTimeMs
      break
    case "global":
      banks["session"] = config.totalTimeMs
      break
    case "count_up":
      banks["session"] = countUpCap(config)
      break
  }
  return banks
}

/** Increment is added only to banks a player or team owns, and only after a completed turn. */
export const earnsIncrement = (mode: SyncMode): boolean => mode === "per_participant" || mode === "per_group"

export const activeParticipant = (state: SessionState): ParticipantState | undefined =>
  state.activeParticipantId === null
    ? undefined
    : state.participants.find((p) => p.participantId === state.activeParticipantId)

const isRunningClockOf = (state: SessionState, participant: ParticipantState): boolean => {
  if (state.status !== "running") return false
  const active = activeParticipant(state)
  if (active === undefined) return false
  const mode = state.config.syncMode
  // A clock of one's own: the same clock is the same participant (no key to build for each reading).
  if (mode === "per_cycle" || mode === "per_participant") return active.participantId === participant.participantId
  return clockKey(mode, active) === clockKey(mode, participant)
}

/**
 * The participant's clock as of the start of the running segment (v2's `total_time_ms`).
 * In per_cycle only the active participant holds the cycle clock; the others wait with a fresh one.
 */
export const bankOf = (state: SessionState, participant: ParticipantState): Millis => {
  const { config } = state
  if (config.syncMode === "per_cycle" && participant.participantId !== state.activeParticipantId) {
    return participant.hasExpired ? 0 : config.timePerCycleMs ?? config.totalTimeMs
  }
  return state.banks[clockKey(config.syncMode, participant)] ?? 0
}

const usedOfBank = (state: SessionState, participant: ParticipantState, bank: Millis, now: EpochMs): Millis =>
  isRunningClockOf(state, participant) ? Math.min(elapsedSince(state.cycleStartedAt, now), bank) : 0

/** Time spent in the running segment, never more than the clock held. */
export const segmentUsed = (state: SessionState, participant: ParticipantState, now: EpochMs): Millis =>
  usedOfBank(state, participant, bankOf(state, participant), now)

/** A participant's clock as of `now`: its bank, what is left of it, and the time the participant used. */
export interface ClockReading {
  readonly bank: Millis
  readonly remaining: Millis
  readonly timeUsed: Millis
}

/** The three figures of a participant's clock at once, its bank read once (views show them all). */
export const readClock = (state: SessionState, participant: ParticipantState, now: EpochMs): ClockReading => {
  const bank = bankOf(state, participant)
  const used = usedOfBank(state, participant, bank, now)
  return {
    bank,
    remaining: bank - used,
    timeUsed: participant.participantId === state.activeParticipantId ? participant.timeUsedMs + used : participant.timeUsedMs
  }
}

export const remainingOf = (state: SessionState, participant: ParticipantState, now: EpochMs): Millis =>
  readClock(state, participant, now).remaining

export const timeUsedOf = (state: SessionState, participant: ParticipantState, now: EpochMs): Millis =>
  readClock(state, participant, now).timeUsed

/** When the running clock reaches zero (the turn expires); null when nothing runs or it already sits at zero. */
export const expiresAtOf = (state: SessionState): EpochMs | null => {
  const active = activeParticipant(state)
  if (state.status !== "running" || active === undefined || state.cycleStartedAt === null) return null
  const bank = bankOf(state, active)
  return bank > 0 ? state.cycleStartedAt + bank : null
}

/**
 * The next warning the running turn will emit: the largest threshold still below the clock that was
 * not emitted in this turn. A threshold the clock already held less than when the turn began is
 * never crossed in it, so it does not warn.
 */
export const nextWarningOf = (state: SessionState): { readonly at: EpochMs; readonly thresholdMs: Millis } | null => {
  const active = activeParticipant(state)
  if (state.status !== "running" || active === undefined || state.cycleStartedAt === null) return null
  const bank = bankOf(state, active)
  const threshold = state.config.timeoutWarningsMs.find((t) => t < bank && !state.warnedMs.includes(t))
  return threshold === undefined ? null : { at: state.cycleStartedAt + bank - threshold, thresholdMs: threshold }
}

/**
 * When the server must next act on its own (what is due next): a warning or the expiry, whichever
 * comes first.
 */
export const dueAtOf = (state: SessionState): EpochMs | null => nextWarningOf(state)?.at ?? expiresAtOf(state)

/**
 * The next participant in turn order after `fromId` who has not expired and still has time,
 * wrapping around (so it may be `fromId` itself); undefined when nobody qualifies.
 */
export const nextParticipant = (state: SessionState, fromId: string): ParticipantState | undefined => {
  const order = state.participants
  const start = order.findIndex((p) => p.participantId === fromId)
  for (let step = 1; step <= order.length; step++) {
    const candidate = order[(start + step) % order.length]
    if (candidate !== undefined && !candidate.hasExpired && hasTimeForTurn(state, candidate)) return candidate
  }
  return undefined
}

const hasTimeForTurn = (state: SessionState, participant: ParticipantState): boolean =>
  state.config.syncMode === "per_cycle" || bankOf(state, participant) > 0
