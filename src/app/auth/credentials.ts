import { createHash, timingSafeEqual } from "node:crypto"
import { makeTokenVerifier, type SessionClaims } from "./tokens.ts"

/** Who a request comes from, once its credential has been checked. */
export type Credential =
  /** Auth is off (no API_KEYS): everyone may do everything, as before access control existed. */
  | { readonly kind: "open" }
  /** A server holding one of the API keys; `id` names the key without revealing it. */
  | { readonly kind: "key"; readonly id: string }
  | { readonly kind: "token"; readonly claims: SessionClaims }

export const OPEN: Credential = { kind: "open" }

export type Authentication =
  | { readonly ok: true; readonly credential: Credential }
  | { readonly ok: false; readonly message: string }

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** `Authorization: Bearer <credential>`; anything else is no credential at all. */
const BEARER = /^Bearer +(\S+) *$/i

/**
 * Stable, short and one-way: it scopes rate limits and idempotency keys to a credential without
 * putting the credential itself in Redis or in logs.
 */
export const scopeOf = (credential: Credential): string => {
  switch (credential.kind) {
    case "open":
      return ""
    case "key":
      return `key:${credential.id}`
    case "token": {
      const { sessionId, role, participantId } = credential.claims
      return `token:${sessionId}:${role}:${participantId ?? ""}`
    }
  }
}

export interface Authenticator {
  /** False when no API keys are configured: every request is `open`. */
  readonly enabled: boolean
  /** Checks the bearer credential of the Authorization header, or (for `/ws`) the `token` query parameter. */
  readonly authenticate: (authorization: string | undefined, queryToken: string | undefined) => Promise<Authentication>
}

export const makeAuthenticator = (settings: { readonly apiKeys: ReadonlyArray<string>; readonly tokenSecret: string }): Authenticator => {
  if (settings.apiKeys.length === 0) return { enabled: false, authenticate: async () => ({ ok: true, credential: OPEN }) }
  // Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first byte that differs.
  const keys = settings.apiKeys.map((key) => ({ digest: sha256(key), id: sha256(key).toString("hex").slice(0, 12) }))
  const verifyToken = makeTokenVerifier(settings.tokenSecret)
  const keyOf = (presented: string) => {
    const digest = sha256(presented)
    let match: string | undefined
    for (const key of keys) if (timingSafeEqual(digest, key.digest)) match = key.id
    return match
  }

  return {
    enabled: true,
    authenticate: async (authorization, queryToken) => {
      let presented = queryToken
      if (authorization !== undefined) {
        const bearer = BEARER.exec(authorization)
        if (bearer === null) return { ok: false, message: "the Authorization header must be \"Bearer <API key or session token>\"" }
        presented = bearer[1]
      }
      if (presented === undefined || presented === "") {
        return { ok: false, message: "credentials required: Authorization: Bearer <API key or session token>" }
      }
      const keyId = keyOf(presented)
      if (keyId !== undefined) return { ok: true, credential: { kind: "key", id: keyId } }
      const verdict = await verifyToken(presented)
      if (!verdict.ok) {
        return { ok: false, message: verdict.reason === "expired" ? "the session token has expired" : "the credential is not valid" }
      }
      return { ok: true, credential: { kind: "token", claims: verdict.claims } }
    }
  }
}
