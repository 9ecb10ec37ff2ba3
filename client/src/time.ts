import type { ParticipantState, SessionState } from "./types.ts"

/**
 * Remaining-time arithmetic at display time. A state's clocks are authoritative as of the start of the
 * running segment: a participant's `total_time_ms` is what its clock held at `cycle_started_at`, so at
 * server time `now` a running clock holds `total_time_ms - (now - cycle_started_at)`, never below zero.
 * Nothing counts down locally; call these with a fresh `now` every frame.
 */

const parseMs = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso))

const activeOf = (state: SessionState): ParticipantState | undefined =>
  state.participants.find((p) => p.participant_id === state.active_participant_id)

/** Which clock a participant's turn runs: its own, its group's, or the one session clock. */
const sharesClock = (state: SessionState, a: ParticipantState, b: ParticipantState): boolean => {
  switch (state.sync_mode) {
    case "per_participant":
    case "per_cycle":
      return a.participant_id === b.participant_id
    case "per_group":
      return a.group_id === b.group_id
    case "global":
    case "count_up":
      return true
  }
}

/** True when this participant's clock is running down now (the session runs and its clock is the active one). */
export const isRunning = (state: SessionState, participantId?: string): boolean => {
  const participant = participantOf(state, participantId)
  const active = activeOf(state)
  return state.status === "running" && participant !== undefined && active !== undefined && sharesClock(state, participant, active)
}

/** The named participant, else the active one, else the first (the session clock of global and count_up). */
const participantOf = (state: SessionState, participantId: string | undefined): ParticipantState | undefined =>
  participantId === undefined
    ? activeOf(state) ?? state.participants[0]
    : state.participants.find((p) => p.participant_id === participantId)

/** Time the running segment has used of this participant's clock at `nowMs`: 0 when it does not run. */
const segmentUsedAt = (state: SessionState, participant: ParticipantState, nowMs: number): number => {
  const started = parseMs(state.cycle_started_at)
  if (started === null || !isRunning(state, participant.participant_id)) return 0
  return Math.min(Math.max(0, nowMs - started), participant.total_time_ms)
}

/**
 * What the participant's clock (or, without an id, the active clock) holds at server time `nowMs`.
 * 0 for an unknown participant.
 */
export const remainingAt = (state: SessionState, nowMs: number, participantId?: string): number => {
  const participant = participantOf(state, participantId)
  if (participant === undefined) return 0
  return Math.max(0, participant.total_time_ms - segmentUsedAt(state, participant, nowMs))
}

/** Time the participant has used over the whole session at `nowMs` (the running segment included). */
export const timeUsedAt = (state: SessionState, nowMs: number, participantId?: string): number => {
  const participant = participantOf(state, participantId)
  if (participant === undefined) return 0
  const running = participant.participant_id === state.active_participant_id ? segmentUsedAt(state, participant, nowMs) : 0
  return participant.time_used_ms + running
}

/** count_up: the time counted so far at `nowMs` (its cap minus the hidden bank it runs down). */
export const elapsedAt = (state: SessionState, nowMs: number): number =>
  state.max_time_ms === undefined ? 0 : state.max_time_ms - remainingAt(state, nowMs)

/** When the running clock reaches zero if nobody acts (server epoch ms); null when nothing runs. */
export const deadlineMs = (state: SessionState): number | null => {
  const active = activeOf(state)
  const started = parseMs(state.cycle_started_at)
  if (state.status !== "running" || active === undefined || started === null || active.total_time_ms <= 0) return null
  return started + active.total_time_ms
}
