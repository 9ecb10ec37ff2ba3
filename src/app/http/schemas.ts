import { MAX_CLOCK_MS, MAX_INCREMENT_MS, MAX_PARTICIPANTS, MAX_WARNINGS, MIN_CLOCK_MS, STATUSES, SYNC_MODES, TIMEOUT_ACTIONS } from "../../domain/index.ts"
import { TOKEN_ROLES, TOKEN_TTL_SECONDS } from "../auth/tokens.ts"

/**
 * JSON Schemas of the HTTP contract. Fastify validates requests with them and @fastify/swagger
 * publishes the same objects as OpenAPI at /docs, so the documentation cannot drift from validation.
 */

const uuid = { type: "string", format: "uuid" } as const
const clockMs = (description: string) => ({ type: "integer", minimum: MIN_CLOCK_MS, maximum: MAX_CLOCK_MS, description }) as const
const isoOrNull = { type: ["string", "null"], format: "date-time" } as const
const int = { type: "integer" } as const

const expectedVersion = {
  type: "integer",
  minimum: 0,
  description: "Apply only if the session is at this version, else 409 CONFLICT (same as If-Match)."
} as const

export const sessionIdParams = {
  type: "object",
  required: ["id"],
  additionalProperties: false,
  properties: { id: { ...uuid, description: "Session id" } }
} as const

export const createSessionBody = {
  $id: "CreateSessionRequest",
  type: "object",
  required: ["session_id", "sync_mode", "participants", "total_time_ms"],
  additionalProperties: false,
  properties: {
    session_id: uuid,
    sync_mode: { type: "string", enum: SYNC_MODES },
    participants: {
      type: "array",
      minItems: 1,
      maxItems: MAX_PARTICIPANTS,
      items: {
        type: "object",
        required: ["participant_id"],
        additionalProperties: false,
        properties: {
          participant_id: uuid,
          participant_index: { type: "integer", minimum: 0, description: "Turn order; defaults to the position in this list." },
          total_time_ms: clockMs("The participant's own bank (per_participant); defaults to the session's total_time_ms."),
          group_id: { ...uuid, description: "Required in per_group sessions." }
        }
      }
    },
    total_time_ms: clockMs("The session clock (global), each group's bank (per_group), and the default participant bank."),
    time_per_cycle_ms: clockMs("per_cycle only, and required there: the time each turn starts with."),
    increment_ms: { type: "integer", minimum: 0, maximum: MAX_INCREMENT_MS, description: "Fischer increment after a completed turn (per_participant, per_group)." },
    max_time_ms: clockMs("count_up only: the cap; defaults to 24 h."),
    action_on_timeout: { type: "string", enum: TIMEOUT_ACTIONS, description: "Defaults to skip_cycle for per_cycle, end_session otherwise." },
    auto_advance: { type: "boolean", description: "per_cycle only: a cycle that runs out passes the turn without eliminating anyone." },
    timeout_warnings_ms: {
      type: "array",
      maxItems: MAX_WARNINGS,
      uniqueItems: true,
      items: { type: "integer", minimum: 1, maximum: MAX_CLOCK_MS },
      description: "Remaining times at which a running turn emits TIMEOUT_WARNING, once per threshold and turn."
    },
    metadata: { type: "object", description: "Free-form, returned as given; at most METADATA_MAX_BYTES (default 16 KiB) as JSON." },
    expected_version: { ...expectedVersion, maximum: 0, description: "0 asks for the session not to exist yet." }
  }
} as const

export const switchBody = {
  type: ["object", "null"],
  additionalProperties: false,
  properties: {
    next_participant_id: { ...uuid, description: "Give the turn to this participant; defaults to the next one in turn order who has not expired." },
    expected_version: expectedVersion
  }
} as const

export const commandBody = {
  type: ["object", "null"],
  additionalProperties: false,
  properties: { expected_version: expectedVersion }
} as const

const participantView = {
  type: "object",
  required: ["participant_id", "participant_index", "total_time_ms", "time_used_ms", "time_remaining_ms", "cycle_count", "is_active", "has_expired"],
  properties: {
    participant_id: { type: "string" },
    participant_index: int,
    total_time_ms: { ...int, description: "The participant's clock at the start of the current turn or the last resume." },
    time_used_ms: { ...int, description: "As of server_time_ms." },
    time_remaining_ms: { ...int, description: "As of server_time_ms." },
    cycle_count: int,
    is_active: { type: "boolean" },
    has_expired: { type: "boolean" },
    group_id: { type: "string" }
  }
} as const

const stateProperties = {
  session_id: { type: "string" },
  sync_mode: { type: "string", enum: SYNC_MODES },
  status: { type: "string", enum: STATUSES },
  version: int,
  participants: { type: "array", items: participantView },
  active_participant_id: { type: ["string", "null"] },
  total_time_ms: int,
  time_per_cycle_ms: { type: ["integer", "null"] },
  cycle_started_at: { ...isoOrNull, description: "Start of the running segment: the turn's start or the last resume." },
  session_started_at: isoOrNull,
  session_completed_at: isoOrNull,
  increment_ms: int,
  max_time_ms: int,
  created_at: { type: "string", format: "date-time" },
  updated_at: { type: "string", format: "date-time" },
  action_on_timeout: { type: "string", enum: TIMEOUT_ACTIONS },
  auto_advance: { type: "boolean" },
  timeout_warnings_ms: { type: "array", items: int },
  metadata: { type: "object", additionalProperties: true },
  time_remaining_ms: { ...int, description: "The active clock's remaining time as of server_time_ms (0 when nothing runs)." },
  elapsed_ms: { ...int, description: "count_up: time counted so far as of server_time_ms." },
  deadline_at: { ...isoOrNull, description: "When the running clock reaches zero if nobody acts." },
  server_time_ms: { ...int, description: "The server time every time field above is computed at." },
  last_event_id: { type: "string", description: "Id of the last event applied; resume a feed from it." },
  archived: { type: "boolean", description: "Present (true) when the session has left Redis: its last audited state, read-only." }
} as const

const stateRequired = [
  "session_id", "sync_mode", "status", "version", "participants", "active_participant_id", "total_time_ms",
  "time_per_cycle_ms", "cycle_started_at", "session_started_at", "session_completed_at", "increment_ms",
  "created_at", "updated_at", "server_time_ms", "last_event_id"
] as const

export const sessionState = {
  $id: "SessionState",
  type: "object",
  required: stateRequired,
  properties: stateProperties
} as const

export const sessionResponse = {
  type: "object",
  required: ["data"],
  properties: { data: sessionState }
} as const

export const switchResponse = {
  type: "object",
  required: ["data"],
  properties: {
    data: {
      type: "object",
      required: stateRequired,
      properties: {
        ...stateProperties,
        expired_participant_id: { type: "string", description: "The participant whose time ran out, when someone did." }
      }
    }
  }
} as const

export const errorResponse = {
  $id: "ErrorResponse",
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        details: {}
      }
    }
  }
} as const

export const timeResponse = {
  type: "object",
  required: ["data", "timestamp_ms"],
  properties: {
    data: { type: "object", required: ["server_time_ms"], properties: { server_time_ms: int } },
    timestamp_ms: { ...int, description: "Same as data.server_time_ms (v2 field)." },
    server_version: { type: "string" },
    drift_tolerance_ms: int
  }
} as const

// Query strings are not coerced (coerceTypes is off): numbers arrive as digits and are checked as such.
const versionBound = (description: string) => ({ type: "string", pattern: "^(0|[1-9][0-9]{0,8})$", description }) as const

export const historyQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    order: { type: "string", enum: ["asc", "desc"], description: "Oldest first (default) or newest first." },
    after_version: versionBound("Only events above this version; the next page of an oldest-first read."),
    before_version: versionBound("Only events below this version; the next page of a newest-first read."),
    limit: { type: "string", pattern: "^([1-9][0-9]{0,2}|1000)$", description: "Events per page, 1 to 1000 (default 100)." }
  }
} as const

const historyEvent = {
  type: "object",
  required: ["id", "type", "version", "at", "at_ms", "payload"],
  properties: {
    id: { type: "string", description: "The event's id, as in WebSocket frames and last_event_id." },
    type: { type: "string" },
    version: int,
    at: { type: "string", format: "date-time" },
    at_ms: int,
    payload: { type: "object", additionalProperties: true }
  }
} as const

export const historyResponse = {
  type: "object",
  required: ["data"],
  properties: {
    data: {
      type: "object",
      required: ["session_id", "archived", "events", "next"],
      properties: {
        session_id: { type: "string" },
        archived: { type: "boolean", description: "The session has left Redis: the events come from the audit." },
        events: { type: "array", items: historyEvent },
        next: {
          type: ["object", "null"],
          description: "The query bound of the next page in the same order (after_version or before_version); null on the last page.",
          properties: { after_version: int, before_version: int }
        }
      }
    }
  }
} as const

export const tokenBody = {
  type: "object",
  required: ["role"],
  additionalProperties: false,
  properties: {
    role: { type: "string", enum: [...TOKEN_ROLES], description: "participant: switch on its own turn; host: every command but delete; observer: read and follow." },
    participant_id: { ...uuid, description: "Required for (and only for) the participant role: a participant of the session." },
    ttl_seconds: {
      type: "integer",
      minimum: TOKEN_TTL_SECONDS.min,
      maximum: TOKEN_TTL_SECONDS.max,
      description: `Lifetime in seconds (default ${TOKEN_TTL_SECONDS.default}).`
    }
  }
} as const

export const tokenResponse = {
  type: "object",
  required: ["data"],
  properties: {
    data: {
      type: "object",
      required: ["token", "expires_at"],
      properties: {
        token: { type: "string", description: "A JWT (HS256) with claims sid, role, pid (participants), iat, exp." },
        expires_at: { type: "string", format: "date-time" }
      }
    }
  }
} as const
