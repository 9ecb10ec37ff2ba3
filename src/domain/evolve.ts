import { activeParticipant, bankOf, clockKey, initialBanks, segmentUsed } from "./clock.ts"
import type { SessionEvent } from "./events.ts"
import type { ParticipantState, SessionState } from "./session.ts"
import type { EpochMs } from "./time.ts"

/** The state before the first event: no session. */
export const initialState: SessionState | null = null

/** Folds one event into the state. Pure and total over the events `decide` produces. */
export const evolve = (state: SessionState | null, event: SessionEvent): SessionState | null => {
  if (event.type === "SESSION_CREATED") return created(event.config, event.at)
  if (state === null || event.type === "SESSION_DELETED") return null
  const next = apply(state, event)
  return { ...next, version: state.version + 1, updatedAt: event.at }
}

export const replay = (events: Iterable<SessionEvent>): SessionState | null => {
  let state: SessionState | null = initialState
  for (const event of events) state = evolve(state, event)
  return state
}

const created = (config: SessionState["config"], at: EpochMs): SessionState => ({
  config,
  status: "pending",
  version: 1,
  participants: config.participants.map((p) => ({
    participantId: p.participantId,
    participantIndex: p.participantIndex,
    groupId: p.groupId,
    timeUsedMs: 0,
    cycleCount: 0,
    hasExpired: false
  })),
  activeParticipantId: null,
  banks: initialBanks(config),
  cycleStartedAt: null,
  warnedMs: [],
  sessionStartedAt: null,
  sessionCompletedAt: null,
  createdAt: at,
  updatedAt: at
})

const apply = (state: SessionState, event: Exclude<SessionEvent, { type: "SESSION_CREATED" | "SESSION_DELETED" }>): SessionState => {
  switch (event.type) {
    case "SESSION_STARTED":
      return {
        ...state,
        status: "running",
        activeParticipantId: event.activeParticipantId,
        cycleStartedAt: event.at,
        warnedMs: [],
        sessionStartedAt: event.at
      }
    case "CYCLE_SWITCHED": {
      const closed = closeSegment(state, event.at, { completesTurn: true, incrementMs: event.incrementMs })
      const banks = state.config.syncMode === "per_cycle"
        ? { ...closed.banks, cycle: state.config.timePerCycleMs ?? state.config.totalTimeMs }
        : closed.banks
      return { ...closed, banks, activeParticipantId: event.toParticipantId, cycleStartedAt: event.at, warnedMs: [] }
    }
    case "SESSION_PAUSED":
      return { ...closeSegment(state, event.at), status: "paused", cycleStartedAt: null }
    case "SESSION_RESUMED":
      return { ...state, status: "running", cycleStartedAt: event.at }
    case "TIME_EXPIRED": {
      // The segment ends where the clock hit zero; a notified clock keeps running at zero from there.
      const closed = closeSegment(state, event.at)
      const expired = new Set(event.expiredParticipantIds)
      return {
        ...closed,
        cycleStartedAt: event.at,
        participants: closed.participants.map((p) => expired.has(p.participantId) ? { ...p, hasExpired: true } : p)
      }
    }
    case "TIMEOUT_WARNING":
      return { ...state, warnedMs: [...state.warnedMs, event.thresholdMs] }
    case "SESSION_EXPIRED":
      return ended(state, "expired", event.at)
    case "SESSION_COMPLETED":
      return ended(state, "completed", event.at)
    case "SESSION_CANCELLED":
      return ended(state, "cancelled", event.at)
  }
}

const ended = (state: SessionState, status: "expired" | "completed" | "cancelled", at: EpochMs): SessionState => ({
  ...closeSegment(state, at),
  status,
  activeParticipantId: null,
  cycleStartedAt: null,
  sessionCompletedAt: at
})

/**
 * Charges the running segment to the active participant's clock and time used. A completed turn also
 * counts a cycle and adds the increment the event granted.
 */
const closeSegment = (
  state: SessionState,
  at: EpochMs,
  turn: { completesTurn: boolean; incrementMs: number } = { completesTurn: false, incrementMs: 0 }
): SessionState => {
  const active = activeParticipant(state)
  if (active === undefined) return state
  const used = segmentUsed(state, active, at)
  const key = clockKey(state.config.syncMode, active)
  return {
    ...state,
    banks: { ...state.banks, [key]: bankOf(state, active) - used + turn.incrementMs },
    participants: state.participants.map((p): ParticipantState =>
      p.participantId === active.participantId
        ? { ...p, timeUsedMs: p.timeUsedMs + used, cycleCount: p.cycleCount + (turn.completesTurn ? 1 : 0) }
        : p
    )
  }
}
