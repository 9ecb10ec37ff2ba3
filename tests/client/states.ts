/** Session states in the wire shape, built small for the SDK's unit tests. */
import type { ParticipantState, SessionState, SyncMode } from "../../client/src/index.ts"

export const A = "00000000-0000-4000-8000-00000000000a"
export const B = "00000000-0000-4000-8000-00000000000b"
export const SESSION = "00000000-0000-4000-8000-000000000001"

const participant = (id: string, index: number, totalTimeMs: number, extra: Partial<ParticipantState> = {}): ParticipantState => ({
  participant_id: id,
  participant_index: index,
  total_time_ms: totalTimeMs,
  time_used_ms: 0,
  time_remaining_ms: totalTimeMs,
  cycle_count: 0,
  is_active: false,
  has_expired: false,
  ...extra
})

/** Two participants (A active) with 60 s and 50 s, the running segment started at t = 1000. */
export const stateOf = (mode: SyncMode, extra: Partial<SessionState> = {}, participants?: Array<ParticipantState>): SessionState => ({
  session_id: SESSION,
  sync_mode: mode,
  status: "running",
  version: 2,
  participants: participants ?? [participant(A, 0, 60_000, { time_used_ms: 5_000 }), participant(B, 1, 50_000)],
  active_participant_id: A,
  total_time_ms: 60_000,
  time_per_cycle_ms: null,
  cycle_started_at: new Date(1_000).toISOString(),
  session_started_at: new Date(1_000).toISOString(),
  session_completed_at: null,
  increment_ms: 0,
  created_at: new Date(0).toISOString(),
  updated_at: new Date(1_000).toISOString(),
  server_time_ms: 1_000,
  last_event_id: "1000-0",
  ...extra
})

export { participant }
