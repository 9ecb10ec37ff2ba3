import { type FieldIssue, SyncKairosError } from "./errors.ts"
import { type CreateSessionInput, type HistoryQuery, SYNC_MODES, TIMEOUT_ACTIONS, TOKEN_ROLES, type TokenRequest } from "./types.ts"
import { isUuid } from "./uuid.ts"

/** The server's bounds (see /docs), checked here so a bad call fails before it is sent. */
export const LIMITS = {
  minClockMs: 1_000,
  maxClockMs: 86_400_000,
  maxIncrementMs: 60_000,
  maxParticipants: 1_000,
  maxWarnings: 10,
  maxHistoryLimit: 1_000,
  minTokenTtlSeconds: 60,
  maxTokenTtlSeconds: 86_400
} as const

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

const isInt = (value: unknown, min: number, max: number): boolean =>
  typeof value === "number" && Number.isInteger(value) && value >= min && value <= max

/** Collects issues; `fail()` throws them as one INVALID_ARGUMENT error when there are any. */
class Checks {
  readonly issues: Array<FieldIssue> = []

  check(ok: boolean, field: string, message: string): this {
    if (!ok) this.issues.push({ field, message })
    return this
  }

  uuid(value: unknown, field: string): this {
    return this.check(isUuid(value), field, "must be a UUID")
  }

  optionalInt(value: unknown, field: string, min: number, max: number): this {
    return this.check(value === undefined || isInt(value, min, max), field, `must be an integer from ${min} to ${max}`)
  }

  clock(value: unknown, field: string): this {
    return this.optionalInt(value, field, LIMITS.minClockMs, LIMITS.maxClockMs)
  }

  fail(): void {
    if (this.issues.length > 0) throw SyncKairosError.invalidArgument(this.issues)
  }
}

export const checkSessionId = (sessionId: unknown, field = "sessionId"): void => new Checks().uuid(sessionId, field).fail()

export interface CommandOptions {
  /** Apply only at this session version, else the server answers 409 CONFLICT (sent as If-Match). */
  readonly expectedVersion?: number
  /** A retry with the same key returns the first answer instead of applying the command twice. */
  readonly idempotencyKey?: string
  readonly signal?: AbortSignal
}

const optionChecks = (options: CommandOptions): Checks =>
  new Checks()
    .optionalInt(options.expectedVersion, "expectedVersion", 0, Number.MAX_SAFE_INTEGER)
    .check(
      options.idempotencyKey === undefined || (typeof options.idempotencyKey === "string" && IDEMPOTENCY_KEY.test(options.idempotencyKey)),
      "idempotencyKey",
      "must be 1 to 255 visible ASCII characters"
    )

export const checkCommand = (sessionId: unknown, options: CommandOptions, nextParticipantId?: unknown): void => {
  const checks = optionChecks(options).uuid(sessionId, "sessionId")
  if (nextParticipantId !== undefined) checks.uuid(nextParticipantId, "nextParticipantId")
  checks.fail()
}

export const checkCreate = (input: CreateSessionInput, options: CommandOptions): void => {
  const checks = optionChecks(options)
  if (input.session_id !== undefined) checks.uuid(input.session_id, "session_id")
  checks
    .check(SYNC_MODES.includes(input.sync_mode), "sync_mode", `must be one of ${SYNC_MODES.join(", ")}`)
    .check(isInt(input.total_time_ms, LIMITS.minClockMs, LIMITS.maxClockMs), "total_time_ms", `must be an integer from ${LIMITS.minClockMs} to ${LIMITS.maxClockMs}`)
    .clock(input.time_per_cycle_ms, "time_per_cycle_ms")
    .clock(input.max_time_ms, "max_time_ms")
    .check(input.sync_mode !== "per_cycle" || input.time_per_cycle_ms !== undefined, "time_per_cycle_ms", "is required for per_cycle sessions")
    .optionalInt(input.increment_ms, "increment_ms", 0, LIMITS.maxIncrementMs)
    .check(
      input.action_on_timeout === undefined || TIMEOUT_ACTIONS.includes(input.action_on_timeout),
      "action_on_timeout",
      `must be one of ${TIMEOUT_ACTIONS.join(", ")}`
    )
  const warnings = input.timeout_warnings_ms ?? []
  checks.check(Array.isArray(warnings) && warnings.length <= LIMITS.maxWarnings, "timeout_warnings_ms", `must be an array of at most ${LIMITS.maxWarnings} thresholds`)
  warnings.forEach((t, i) => checks.optionalInt(t, `timeout_warnings_ms[${i}]`, 1, LIMITS.maxClockMs))

  const participants = Array.isArray(input.participants) ? input.participants : []
  checks.check(
    participants.length >= 1 && participants.length <= LIMITS.maxParticipants,
    "participants",
    `must hold 1 to ${LIMITS.maxParticipants} participants`
  )
  const ids = new Set<string>()
  participants.forEach((p, i) => {
    const at = `participants[${i}]`
    if (p.participant_id !== undefined) {
      checks.uuid(p.participant_id, `${at}.participant_id`).check(!ids.has(p.participant_id), `${at}.participant_id`, "is a duplicate")
      ids.add(p.participant_id)
    }
    checks.clock(p.total_time_ms, `${at}.total_time_ms`).optionalInt(p.participant_index, `${at}.participant_index`, 0, Number.MAX_SAFE_INTEGER)
    if (p.group_id !== undefined) checks.uuid(p.group_id, `${at}.group_id`)
    else checks.check(input.sync_mode !== "per_group", `${at}.group_id`, "is required for per_group sessions")
  })
  checks.fail()
}

export const checkHistory = (sessionId: unknown, query: HistoryQuery): void =>
  new Checks()
    .uuid(sessionId, "sessionId")
    .check(query.order === undefined || query.order === "asc" || query.order === "desc", "order", "must be asc or desc")
    .optionalInt(query.afterVersion, "afterVersion", 0, 999_999_999)
    .optionalInt(query.beforeVersion, "beforeVersion", 0, 999_999_999)
    .optionalInt(query.limit, "limit", 1, LIMITS.maxHistoryLimit)
    .fail()

export const checkTokenRequest = (sessionId: unknown, request: TokenRequest): void => {
  const checks = new Checks()
    .uuid(sessionId, "sessionId")
    .check(TOKEN_ROLES.includes(request.role), "role", `must be one of ${TOKEN_ROLES.join(", ")}`)
    .check((request.role === "participant") === (request.participantId !== undefined), "participantId", "is required for, and only for, the participant role")
    .optionalInt(request.ttlSeconds, "ttlSeconds", LIMITS.minTokenTtlSeconds, LIMITS.maxTokenTtlSeconds)
  if (request.participantId !== undefined) checks.uuid(request.participantId, "participantId")
  checks.fail()
}
