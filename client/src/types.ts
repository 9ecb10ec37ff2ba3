/**
 * The wire shapes of the SyncKairos API, as `GET /v1/sessions/:id` and the live feed send them
 * (snake_case, like the HTTP documentation at /docs), so a state fetched and a state pushed are one type.
 */

export const SYNC_MODES = ["per_participant", "per_cycle", "per_group", "global", "count_up"] as const
export type SyncMode = (typeof SYNC_MODES)[number]

export const STATUSES = ["pending", "running", "paused", "expired", "completed", "cancelled"] as const
export type SessionStatus = (typeof STATUSES)[number]

export const TIMEOUT_ACTIONS = ["end_session", "skip_cycle", "notify"] as const
export type TimeoutAction = (typeof TIMEOUT_ACTIONS)[number]

export interface ParticipantInput {
  /** A UUID; generated when left out. */
  readonly participant_id?: string
  readonly participant_index?: number
  readonly total_time_ms?: number
  readonly group_id?: string
}

export interface CreateSessionInput {
  /** A UUID; generated when left out. */
  readonly session_id?: string
  readonly sync_mode: SyncMode
  readonly participants: ReadonlyArray<ParticipantInput>
  readonly total_time_ms: number
  readonly time_per_cycle_ms?: number
  readonly increment_ms?: number
  readonly max_time_ms?: number
  readonly action_on_timeout?: TimeoutAction
  readonly auto_advance?: boolean
  readonly timeout_warnings_ms?: ReadonlyArray<number>
  readonly metadata?: Record<string, unknown>
}

export interface ParticipantState {
  readonly participant_id: string
  readonly participant_index: number
  /** The participant's clock at the start of the running segment (the turn's start or the last resume). */
  readonly total_time_ms: number
  readonly time_used_ms: number
  readonly time_remaining_ms: number
  readonly cycle_count: number
  readonly is_active: boolean
  readonly has_expired: boolean
  readonly group_id?: string
}

export interface SessionState {
  readonly session_id: string
  readonly sync_mode: SyncMode
  readonly status: SessionStatus
  readonly version: number
  readonly participants: ReadonlyArray<ParticipantState>
  readonly active_participant_id: string | null
  readonly total_time_ms: number
  readonly time_per_cycle_ms: number | null
  /** Start of the running segment, ISO 8601. */
  readonly cycle_started_at: string | null
  readonly session_started_at: string | null
  readonly session_completed_at: string | null
  readonly increment_ms: number
  readonly max_time_ms?: number
  readonly elapsed_ms?: number
  readonly created_at: string
  readonly updated_at: string
  readonly action_on_timeout?: TimeoutAction
  readonly auto_advance?: boolean
  readonly timeout_warnings_ms?: ReadonlyArray<number>
  readonly metadata?: Record<string, unknown>
  readonly time_remaining_ms?: number
  readonly deadline_at?: string | null
  /** The server time every time field above was computed at. */
  readonly server_time_ms: number
  /** Id of the last event applied; a feed resumes from it. Empty for a session with no event yet read. */
  readonly last_event_id: string
  /** Present when the session has left Redis: its last audited state, read-only. */
  readonly archived?: boolean
  /** Switch answers only: whoever ran out of time on the way. */
  readonly expired_participant_id?: string
}

export interface SessionEvent {
  readonly id: string
  readonly type: string
  readonly version: number
  readonly at: string
  readonly at_ms: number
  readonly payload: Record<string, unknown>
}

export interface HistoryPage {
  readonly session_id: string
  readonly archived: boolean
  readonly events: ReadonlyArray<SessionEvent>
  readonly next: { readonly after_version: number } | { readonly before_version: number } | null
}

export interface HistoryQuery {
  readonly order?: "asc" | "desc"
  readonly afterVersion?: number
  readonly beforeVersion?: number
  readonly limit?: number
}

export interface ServerTime {
  readonly server_time_ms: number
}

export const TOKEN_ROLES = ["participant", "host", "observer"] as const
export type TokenRole = (typeof TOKEN_ROLES)[number]

export interface TokenRequest {
  /** participant: switch on its own turn; host: every command but delete; observer: read and follow. */
  readonly role: TokenRole
  /** Required for (and only for) the participant role. */
  readonly participantId?: string
  /** 60 to 86400 (the server's default is an hour). */
  readonly ttlSeconds?: number
}

export interface SessionToken {
  readonly token: string
  readonly expires_at: string
}
