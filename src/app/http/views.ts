import {
  activeParticipant,
  countUpCap,
  type EpochMs,
  expiresAtOf,
  readClock,
  remainingOf,
  type SessionEvent,
  type SessionState,
  toIso
} from "../../domain/index.ts"

/**
 * The v2 session state, every time field computed as of `now` so that no reader sees a value frozen at
 * the last command. Extensions sit beside the v2 fields; optional fields are absent, never null.
 */
export const sessionView = (state: SessionState, now: EpochMs): Record<string, unknown> => {
  const { config } = state
  const active = activeParticipant(state)
  const activeRemaining = active === undefined ? 0 : remainingOf(state, active, now)
  const deadline = expiresAtOf(state)
  return {
    session_id: config.sessionId,
    sync_mode: config.syncMode,
    status: state.status,
    version: state.version,
    participants: state.participants.map((p) => {
      const clock = readClock(state, p, now)
      return {
        participant_id: p.participantId,
        participant_index: p.participantIndex,
        total_time_ms: clock.bank,
        time_used_ms: clock.timeUsed,
        time_remaining_ms: clock.remaining,
        cycle_count: p.cycleCount,
        is_active: p.participantId === state.activeParticipantId,
        has_expired: p.hasExpired,
        ...(p.groupId === null ? {} : { group_id: p.groupId })
      }
    }),
    active_participant_id: state.activeParticipantId,
    total_time_ms: config.totalTimeMs,
    time_per_cycle_ms: config.timePerCycleMs,
    cycle_started_at: toIso(state.cycleStartedAt),
    session_started_at: toIso(state.sessionStartedAt),
    session_completed_at: toIso(state.sessionCompletedAt),
    increment_ms: config.incrementMs,
    ...(config.syncMode === "count_up" ? { max_time_ms: countUpCap(config), elapsed_ms: countUpCap(config) - sessionClock(state, now) } : {}),
    created_at: toIso(state.createdAt),
    updated_at: toIso(state.updatedAt),
    action_on_timeout: config.actionOnTimeout,
    auto_advance: config.autoAdvance,
    timeout_warnings_ms: config.timeoutWarningsMs,
    ...(config.metadata === null ? {} : { metadata: config.metadata }),
    time_remaining_ms: activeRemaining,
    deadline_at: toIso(deadline),
    server_time_ms: now
  }
}

/** The session clock of count_up, whoever holds the turn (or held it last). */
const sessionClock = (state: SessionState, now: EpochMs): number => {
  const holder = activeParticipant(state) ?? state.participants[0]
  return holder === undefined ? 0 : remainingOf(state, holder, now)
}

/** The v2 switch answer: the full state plus who ran out of time, if anyone did on the way. */
export const switchView = (state: SessionState, events: ReadonlyArray<SessionEvent>, now: EpochMs): Record<string, unknown> => {
  const view = sessionView(state, now)
  const expired = events.find((e) => e.type === "TIME_EXPIRED")
  if (expired !== undefined) view["expired_participant_id"] = expired.participantId
  return view
}

/**
 * The snake_case of the payload keys seen: the domain's payloads have a few dozen keys, and every
 * frame renders them. Bounded all the same, should a stored payload carry keys of its own.
 */
const snakeCased = new Map<string, string>()
const SNAKE_CASED_MAX = 1000

const snakeCase = (key: string) => {
  let snake = snakeCased.get(key)
  if (snake === undefined) {
    snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
    if (snakeCased.size < SNAKE_CASED_MAX) snakeCased.set(key, snake)
  }
  return snake
}

/** Domain payloads are camelCase; the wire speaks snake_case like the rest of the API. Free-form metadata is left as given. */
const snakeKeys = (value: unknown, key = ""): unknown => {
  if (Array.isArray(value)) return value.map((item) => snakeKeys(item))
  if (value === null || typeof value !== "object" || key === "metadata") return value
  // A loop rather than entries/fromEntries: every live frame renders one payload, and this halves its cost.
  const snaked: Record<string, unknown> = {}
  for (const k of Object.keys(value)) {
    const v = snakeKeys((value as Record<string, unknown>)[k], k)
    const name = snakeCase(k)
    // An assignment to "__proto__" would set the prototype instead of adding the key.
    if (name === "__proto__") Object.defineProperty(snaked, name, { value: v, enumerable: true, writable: true, configurable: true })
    else snaked[name] = v
  }
  return snaked
}

/** One event as clients see it: in STATE_UPDATE frames and in a session's history. */
export const eventView = (event: { id: string; type: string; version: number; at: EpochMs; payload: string }) => ({
  id: event.id,
  type: event.type,
  version: event.version,
  at: toIso(event.at),
  at_ms: event.at,
  payload: snakeKeys(event.payload === "" ? {} : JSON.parse(event.payload))
})
