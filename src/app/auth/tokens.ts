import { errors, jwtVerify, SignJWT } from "jose"
import type { FieldIssue } from "../../domain/index.ts"

/**
 * Session tokens: short-lived JWTs (HS256, signed with TOKEN_SECRET) that give a browser or game client
 * one role in one session. A game server may mint them itself with any JWT library; the claims are
 *
 * | claim | meaning |
 * | --- | --- |
 * | `sid`  | the session id (UUID) the token is valid for, and only that one |
 * | `role` | `participant`, `host` or `observer` |
 * | `pid`  | the participant id (UUID), required for and only for `participant` |
 * | `iat`  | issued at, seconds since the epoch |
 * | `exp`  | expiry, seconds since the epoch |
 */
export const TOKEN_ROLES = ["participant", "host", "observer"] as const
export type TokenRole = (typeof TOKEN_ROLES)[number]

export const TOKEN_TTL_SECONDS = { default: 3600, min: 60, max: 86_400 } as const

/** Longer tokens are refused before any parsing: a grant's token is a few hundred characters. */
export const MAX_TOKEN_LENGTH = 2048

const ALGORITHM = "HS256"
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface SessionGrant {
  readonly sessionId: string
  readonly role: TokenRole
  readonly participantId?: string | undefined
  readonly ttlSeconds?: number | undefined
}

/** What a verified token proves. */
export interface SessionClaims {
  readonly sessionId: string
  readonly role: TokenRole
  readonly participantId?: string | undefined
  readonly expiresAt: number
}

/** A grant that cannot be signed: the fields named as the token request names them. */
export class InvalidGrant extends Error {
  constructor(readonly issues: ReadonlyArray<FieldIssue>) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join("; "))
    this.name = "InvalidGrant"
  }
}

/** Every rule a grant breaks, named by the fields of `POST /v1/sessions/:id/tokens`. */
export const grantIssues = (grant: SessionGrant): Array<FieldIssue> => {
  const issues: Array<FieldIssue> = []
  if (!UUID.test(grant.sessionId)) issues.push({ field: "id", message: "must be a UUID" })
  if (!TOKEN_ROLES.includes(grant.role)) issues.push({ field: "role", message: `must be one of ${TOKEN_ROLES.join(", ")}` })
  if (grant.role === "participant" && grant.participantId === undefined) {
    issues.push({ field: "participant_id", message: "is required for the participant role" })
  }
  if (grant.role !== "participant" && grant.participantId !== undefined) {
    issues.push({ field: "participant_id", message: "applies only to the participant role" })
  }
  if (grant.participantId !== undefined && !UUID.test(grant.participantId)) {
    issues.push({ field: "participant_id", message: "must be a UUID" })
  }
  const ttl = grant.ttlSeconds
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= TOKEN_TTL_SECONDS.min && ttl <= TOKEN_TTL_SECONDS.max)) {
    issues.push({ field: "ttl_seconds", message: `must be an integer from ${TOKEN_TTL_SECONDS.min} to ${TOKEN_TTL_SECONDS.max}` })
  }
  return issues
}

const keyOf = (secret: string): Uint8Array => new TextEncoder().encode(secret)

/** Signs a grant; rejects with InvalidGrant when a field is out of bounds. */
export const signSessionToken = async (
  secret: string,
  grant: SessionGrant
): Promise<{ token: string; expiresAt: string }> => {
  const issues = grantIssues(grant)
  if (issues.length > 0) throw new InvalidGrant(issues)
  const issuedAt = Math.floor(Date.now() / 1000)
  const exp = issuedAt + (grant.ttlSeconds ?? TOKEN_TTL_SECONDS.default)
  const token = await new SignJWT({
    sid: grant.sessionId,
    role: grant.role,
    ...(grant.participantId === undefined ? {} : { pid: grant.participantId })
  })
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
    .setIssuedAt(issuedAt)
    .setExpirationTime(exp)
    .sign(keyOf(secret))
  return { token, expiresAt: new Date(exp * 1000).toISOString() }
}

export type TokenRejection = "malformed" | "expired" | "bad_signature" | "bad_claims"

export type TokenVerdict =
  | { readonly ok: true; readonly claims: SessionClaims }
  | { readonly ok: false; readonly reason: TokenRejection }

/** The claims checked beyond the signature: a well-signed token with a broken grant is refused too. */
const claimsOf = (payload: Record<string, unknown>): SessionClaims | undefined => {
  const { sid, role, pid, exp, iat } = payload
  if (typeof sid !== "string" || !UUID.test(sid)) return undefined
  const tokenRole = TOKEN_ROLES.find((known) => known === role)
  if (tokenRole === undefined) return undefined
  if (typeof exp !== "number" || typeof iat !== "number") return undefined
  if (pid !== undefined && (typeof pid !== "string" || !UUID.test(pid))) return undefined
  if ((tokenRole === "participant") !== (pid !== undefined)) return undefined
  return { sessionId: sid.toLowerCase(), role: tokenRole, participantId: pid?.toLowerCase(), expiresAt: exp }
}

/**
 * Checks a token's signature (HS256 only: `none` and every other algorithm are refused), its expiry
 * and its claims. Never throws: every failure is a verdict, so callers answer 401 and never 500.
 */
export const verifySessionToken = (secret: string, token: string): Promise<TokenVerdict> => verifyWith(keyOf(secret), token)

/**
 * `verifySessionToken` for one secret, remembering up to `capacity` tokens it found valid: a client
 * sends the same token with every request, and a map lookup and an expiry check cost far less than
 * an HMAC through WebCrypto. Only the exact bytes once verified hit; the oldest entries go first.
 */
export const makeTokenVerifier = (secret: string, capacity = 10_000) => {
  const key = keyOf(secret)
  const verified = new Map<string, SessionClaims>()
  return async (token: string): Promise<TokenVerdict> => {
    const known = verified.get(token)
    if (known !== undefined) {
      if (known.expiresAt * 1000 > Date.now()) return { ok: true, claims: known }
      verified.delete(token)
      return { ok: false, reason: "expired" }
    }
    const verdict = await verifyWith(key, token)
    if (verdict.ok) {
      if (verified.size >= capacity) verified.delete(verified.keys().next().value!)
      verified.set(token, verdict.claims)
    }
    return verdict
  }
}

const verifyWith = async (key: Uint8Array, token: string): Promise<TokenVerdict> => {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed" }
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      requiredClaims: ["sid", "role", "iat", "exp"]
    })
    const claims = claimsOf(payload)
    return claims === undefined ? { ok: false, reason: "bad_claims" } : { ok: true, claims }
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "expired" }
    if (error instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: "bad_signature" }
    if (error instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: "bad_claims" }
    return { ok: false, reason: "malformed" }
  }
}
