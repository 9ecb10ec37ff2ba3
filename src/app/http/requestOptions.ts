import { createHash } from "node:crypto"
import type { FastifyRequest } from "fastify"
import type { FieldIssue } from "../../domain/index.ts"
import { credentialOf } from "../auth/accessControl.ts"
import { scopeOf } from "../auth/credentials.ts"
import type { CommandOptions } from "../CommandHandler.ts"

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/
const IF_MATCH = /^(?:W\/)?"?(\d{1,15})"?$/

/**
 * The concurrency and retry options a command request carries: `If-Match` or `expected_version` pins
 * the version, `Idempotency-Key` makes a retry return the first answer: to the same credential only,
 * so one client cannot replay another's.
 */
export const requestOptions = (
  request: FastifyRequest,
  bodyVersion: number | undefined
): { options: CommandOptions } | { issues: Array<FieldIssue> } => {
  const issues: Array<FieldIssue> = []
  const ifMatch = request.headers["if-match"]
  let pinned = bodyVersion
  if (ifMatch !== undefined) {
    const parsed = IF_MATCH.exec(ifMatch.trim())
    if (parsed === null) issues.push({ field: "If-Match", message: "must be a session version, e.g. \"7\"" })
    else if (bodyVersion !== undefined && Number(parsed[1]) !== bodyVersion) {
      issues.push({ field: "If-Match", message: "disagrees with expected_version in the body" })
    } else pinned = Number(parsed[1])
  }
  const key = request.headers["idempotency-key"]
  if (key !== undefined && (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key))) {
    issues.push({ field: "Idempotency-Key", message: "must be 1 to 255 visible ASCII characters" })
  }
  if (issues.length > 0) return { issues }
  return {
    options: {
      expectedVersion: pinned,
      idempotency: typeof key === "string"
        ? { key, scope: scopeOf(credentialOf(request)), fingerprint: fingerprintOf(request) }
        : undefined
    }
  }
}

/** Tells a retry (same route, same body) from a reuse of the key for something else. */
const fingerprintOf = (request: FastifyRequest): string =>
  createHash("sha256").update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`).digest("base64url")
