import type { FieldIssue } from "../../domain/index.ts"
import type { AuditUnavailable } from "../../infra/pg/AuditRepository.ts"
import type { CommandError } from "../CommandHandler.ts"
import type { SessionDeleted } from "../errors.ts"

export interface HttpFailure {
  readonly status: number
  readonly code: string
  readonly message: string
  readonly details?: unknown
}

/** Every failure a request can end in: a command's, or the audit's when a read needs PostgreSQL. */
export type RequestError = CommandError | SessionDeleted | AuditUnavailable

/** Every failure a request can end in, and the one status and code each answers with. */
export const toHttpFailure = (error: RequestError): HttpFailure => {
  switch (error._tag) {
    case "InvalidCommand":
      return { status: 400, code: "VALIDATION_ERROR", message: "request validation failed", details: error.issues }
    case "SessionNotFound":
    case "SessionDeleted":
      return { status: 404, code: "SESSION_NOT_FOUND", message: error.message }
    case "SessionAlreadyExists":
      return { status: 409, code: "SESSION_EXISTS", message: error.message }
    case "InvalidTransition":
      // 400 as in v2, whose clients test for it.
      return { status: 400, code: "INVALID_STATE_TRANSITION", message: error.message, details: { status: error.status } }
    case "NotYourTurn":
      return {
        status: 403,
        code: "NOT_YOUR_TURN",
        message: error.message,
        details: { participant_id: error.participantId, active_participant_id: error.activeParticipantId }
      }
    case "VersionConflict":
      return {
        status: 409,
        code: "CONFLICT",
        message: error.message,
        details: { expected_version: error.expectedVersion, current_version: error.currentVersion }
      }
    case "ContentionExceeded":
      return { status: 409, code: "CONFLICT", message: error.message, details: { attempts: error.attempts } }
    case "IdempotencyKeyReused":
      return { status: 422, code: "IDEMPOTENCY_KEY_REUSED", message: error.message }
    case "IdempotencyRecordUnreadable":
      return { status: 409, code: "IDEMPOTENCY_RECORD_UNREADABLE", message: error.message }
    case "RedisUnavailable":
      return { status: 503, code: "SERVICE_UNAVAILABLE", message: "the session store is unavailable; retry shortly" }
    case "AuditUnavailable":
      return { status: 503, code: "AUDIT_UNAVAILABLE", message: "the audit database is unavailable; retry shortly" }
  }
}

export const validationFailure = (status: number, issues: ReadonlyArray<FieldIssue>, message = "request validation failed"): HttpFailure =>
  ({ status, code: "VALIDATION_ERROR", message, details: issues })

interface AjvIssue {
  readonly instancePath: string
  readonly keyword: string
  readonly message?: string
  readonly params: Record<string, unknown>
}

/** `/participants/0/participant_id` → `participants[0].participant_id`, the form the domain reports too. */
const fieldPath = (pointer: string, context: string | undefined): string => {
  const path = pointer.split("/").slice(1).reduce(
    (acc, part) => /^\d+$/.test(part) ? `${acc}[${part}]` : acc === "" ? part : `${acc}.${part}`,
    ""
  )
  return path === "" && context === "params" ? "id" : path
}

const joinField = (base: string, name: string) => base === "" ? name : `${base}.${name}`

/** Fastify's ajv errors, one issue per offending field with the reason in words. */
export const fromSchemaErrors = (errors: ReadonlyArray<AjvIssue>, context: string | undefined): Array<FieldIssue> =>
  errors.map((e) => {
    const field = fieldPath(e.instancePath, context)
    switch (e.keyword) {
      case "required":
        return { field: joinField(field, String(e.params["missingProperty"])), message: "is required" }
      case "additionalProperties":
        return { field: joinField(field, String(e.params["additionalProperty"])), message: "is not a known field" }
      case "format":
        return { field, message: `must be a ${String(e.params["format"]) === "uuid" ? "UUID" : String(e.params["format"])}` }
      default:
        return { field: field === "" ? "body" : field, message: e.message ?? "is invalid" }
    }
  })
