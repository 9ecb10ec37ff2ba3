import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { type Action, actingParticipantOf, authorize } from "../../src/app/auth/access.ts"
import { type Credential, makeAuthenticator, OPEN, scopeOf } from "../../src/app/auth/credentials.ts"
import { signSessionToken, type TokenRole } from "../../src/app/auth/tokens.ts"
import { AppConfig, type AppSettings } from "../../src/app/AppConfig.ts"
import { configLayer } from "../support/settings.ts"

const SID = randomUUID()
const PID = randomUUID()
const token = (role: TokenRole): Credential =>
  ({ kind: "token", claims: { sessionId: SID, role, participantId: role === "participant" ? PID : undefined, expiresAt: 0 } })

const ALL: ReadonlyArray<Action> = ["create", "read", "follow", "start", "switch", "pause", "resume", "complete", "cancel", "delete", "mint"]

describe("authorize", () => {
  // The three roles, row by row; API keys and an open service may do everything.
  const table: Record<string, ReadonlyArray<Action>> = {
    participant: ["read", "follow", "switch"],
    host: ["read", "follow", "start", "switch", "pause", "resume", "complete", "cancel"],
    observer: ["read", "follow"]
  }
  it.each(Object.entries(table))("%s may do exactly %j on its own session", (role, allowed) => {
    const granted = ALL.filter((action) => authorize(token(role as TokenRole), action, SID).allowed)
    expect(granted).toEqual(allowed)
  })

  it.each(["open", "key"])("%s may do everything on any session", (kind) => {
    const credential: Credential = kind === "open" ? OPEN : { kind: "key", id: "abc" }
    expect(ALL.every((action) => authorize(credential, action, randomUUID()).allowed)).toBe(true)
    expect(authorize(credential, undefined, undefined).allowed).toBe(true)
  })

  it("a token may do nothing on another session, nor on a route that names no action", () => {
    for (const role of ["participant", "host", "observer"] as const) {
      expect(authorize(token(role), "read", randomUUID()).allowed).toBe(false)
      expect(authorize(token(role), undefined, SID).allowed).toBe(false)
    }
  })

  it("matches the session id whatever its case", () => {
    expect(authorize(token("observer"), "read", SID.toUpperCase()).allowed).toBe(true)
  })

  it("a participant's switch is made for its participant; no one else's is", () => {
    expect(actingParticipantOf(token("participant"))).toBe(PID)
    expect(actingParticipantOf(token("host"))).toBeUndefined()
    expect(actingParticipantOf({ kind: "key", id: "abc" })).toBeUndefined()
  })
})

describe("authenticate", () => {
  const key = "k".repeat(30)
  const secret = "s".repeat(40)
  const authenticator = makeAuthenticator({ apiKeys: ["x".repeat(24), key], tokenSecret: secret })
  const authenticate = (header: string | undefined, query?: string) => authenticator.authenticate(header, query)

  it("is off, and everyone open, without API keys", async () => {
    const off = makeAuthenticator({ apiKeys: [], tokenSecret: "" })
    expect(off.enabled).toBe(false)
    expect(await off.authenticate(undefined, undefined)).toEqual({ ok: true, credential: OPEN })
  })

  it("knows each key by a short one-way id, never the key", async () => {
    const result = await authenticate(`Bearer ${key}`)
    expect(result.ok && result.credential.kind === "key" && result.credential.id).toMatch(/^[0-9a-f]{12}$/)
    expect(JSON.stringify(result)).not.toContain(key)
    expect(await authenticate(`bearer  ${key}`)).toEqual(result)
    expect((await authenticate(undefined, key)).ok).toBe(true)
  })

  it("takes a token from the header before the query", async () => {
    const { token: observer } = await signSessionToken(secret, { sessionId: SID, role: "observer" })
    const result = await authenticate(`Bearer ${observer}`, "nonsense")
    expect(result.ok && scopeOf(result.credential)).toBe(`token:${SID}:observer:`)
  })

  it.each([
    ["no credential", undefined, undefined],
    ["an empty query token", undefined, ""],
    ["another scheme", `Basic ${key}`, undefined],
    ["a bare credential", key, undefined],
    ["a key with one character more", `Bearer ${key}k`, undefined],
    ["two credentials", `Bearer ${key} ${key}`, undefined]
  ])("refuses %s", async (_name, header, query) => {
    expect((await authenticate(header, query)).ok).toBe(false)
  })
})

describe("access settings", () => {
  const load = (overrides: Partial<AppSettings>) =>
    Effect.runPromise(Effect.result(Effect.service(AppConfig).pipe(Effect.provide(configLayer(overrides)))))
  const problem = async (overrides: Partial<AppSettings>) => {
    const result = await load(overrides)
    return result._tag === "Failure" ? String((result.failure as { message: string }).message) : "accepted"
  }

  it.each<[string, Partial<AppSettings>, string]>([
    ["a short API key", { apiKeys: ["short-key"], tokenSecret: "s".repeat(32) }, "API_KEYS: key #1 is 9 characters; each key needs at least 24"],
    ["API keys without a token secret", { apiKeys: ["k".repeat(24)] }, "TOKEN_SECRET is required when API_KEYS is set"],
    ["a short token secret", { apiKeys: ["k".repeat(24)], tokenSecret: "s".repeat(31) }, "TOKEN_SECRET is 31 characters; it needs at least 32"],
    ["a CORS origin with a path", { corsOrigins: ["https://game.example.com/play"] }, "CORS_ORIGINS: \"https://game.example.com/play\" is not an origin"],
    ["a rate of zero", { rateLimitTokenRps: 0 }, "RATE_LIMIT_TOKEN_RPS must be a positive integer, got 0"]
  ])("refuses to start with %s, saying why without the secret", async (_name, overrides, expected) => {
    const message = await problem(overrides)
    expect(message).toContain(expected)
    for (const secret of [...(overrides.apiKeys ?? []), overrides.tokenSecret ?? "\u0000"]) expect(message).not.toContain(secret)
  })

  it("accepts good settings, and defaults to auth off with 20 requests a second per token", async () => {
    expect(await problem({ apiKeys: ["k".repeat(24)], tokenSecret: "s".repeat(32), corsOrigins: ["http://localhost:5173"] })).toBe("accepted")
    const defaults = await load({})
    expect(defaults._tag === "Success" && [defaults.success.apiKeys, defaults.success.rateLimitTokenRps]).toEqual([[], 20])
  })
})
