import { randomUUID } from "node:crypto"
import { SignJWT, UnsecuredJWT } from "jose"
import { describe, expect, it, vi } from "vitest"
import { grantIssues, InvalidGrant, makeTokenVerifier, MAX_TOKEN_LENGTH, signSessionToken, verifySessionToken } from "../../src/app/auth/tokens.ts"

const secret = "s".repeat(40)
const sessionId = randomUUID()
const participantId = randomUUID()

describe("session tokens", () => {
  it("round-trips every role's grant", async () => {
    for (const grant of [
      { sessionId, role: "participant" as const, participantId },
      { sessionId, role: "host" as const },
      { sessionId, role: "observer" as const, ttlSeconds: 60 }
    ]) {
      const { token, expiresAt } = await signSessionToken(secret, grant)
      const verdict = await verifySessionToken(secret, token)
      expect(verdict).toEqual({
        ok: true,
        claims: { sessionId, role: grant.role, participantId: grant.participantId, expiresAt: Date.parse(expiresAt) / 1000 }
      })
    }
  })

  it("defaults to an hour and honours ttl_seconds", async () => {
    const before = Date.now()
    const { expiresAt } = await signSessionToken(secret, { sessionId, role: "host" })
    expect(Date.parse(expiresAt) - before).toBeGreaterThan(3590_000)
    expect(Date.parse(expiresAt) - before).toBeLessThanOrEqual(3600_000)
    const short = await signSessionToken(secret, { sessionId, role: "host", ttlSeconds: 120 })
    expect(Date.parse(short.expiresAt) - before).toBeLessThanOrEqual(120_000)
  })

  it.each([
    [{ sessionId, role: "host" as const, ttlSeconds: 59 }, "ttl_seconds"],
    [{ sessionId, role: "host" as const, ttlSeconds: 86_401 }, "ttl_seconds"],
    [{ sessionId, role: "host" as const, ttlSeconds: 1.5 }, "ttl_seconds"],
    [{ sessionId, role: "participant" as const }, "participant_id"],
    [{ sessionId, role: "observer" as const, participantId }, "participant_id"],
    [{ sessionId, role: "participant" as const, participantId: "p1" }, "participant_id"],
    [{ sessionId: "nope", role: "host" as const }, "id"],
    [{ sessionId, role: "admin" as never }, "role"]
  ])("refuses %o naming %s", async (grant, field) => {
    expect(grantIssues(grant).map((i) => i.field)).toEqual([field])
    await expect(signSessionToken(secret, grant)).rejects.toBeInstanceOf(InvalidGrant)
  })

  const now = () => Math.floor(Date.now() / 1000)
  const hs256 = (claims: Record<string, unknown>, key = secret) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(key))

  it.each<[string, () => Promise<string> | string, string]>([
    ["empty", () => "", "malformed"],
    ["huge", () => "a".repeat(MAX_TOKEN_LENGTH + 1), "malformed"],
    ["non-ASCII", () => "ünïcødé.ünïcødé.ünïcødé", "malformed"],
    ["garbage", () => "not-a-jwt", "malformed"],
    ["alg none", () => new UnsecuredJWT({ sid: sessionId, role: "host" }).setIssuedAt().setExpirationTime("1h").encode(), "malformed"],
    ["another secret", () => hs256({ sid: sessionId, role: "host", iat: now(), exp: now() + 60 }, "x".repeat(40)), "bad_signature"],
    ["expired", () => hs256({ sid: sessionId, role: "host", iat: now() - 120, exp: now() - 60 }), "expired"],
    ["no exp", () => hs256({ sid: sessionId, role: "host", iat: now() }), "bad_claims"],
    ["unknown role", () => hs256({ sid: sessionId, role: "admin", iat: now(), exp: now() + 60 }), "bad_claims"],
    ["participant without pid", () => hs256({ sid: sessionId, role: "participant", iat: now(), exp: now() + 60 }), "bad_claims"],
    ["sid not a UUID", () => hs256({ sid: "x", role: "host", iat: now(), exp: now() + 60 }), "bad_claims"]
  ])("refuses a token that is %s", async (_name, make, reason) => {
    expect(await verifySessionToken(secret, await make())).toEqual({ ok: false, reason })
  })
})

describe("a verifier that remembers valid tokens", () => {
  it("answers a known token from memory until it expires, and never remembers a refused one", async () => {
    const verify = makeTokenVerifier(secret, 2)
    const { token } = await signSessionToken(secret, { sessionId, role: "host", ttlSeconds: 60 })
    const first = await verify(token)
    expect(first.ok).toBe(true)
    expect(await verify(token)).toEqual(first)
    const forged = `${token.slice(0, -2)}xx`
    expect((await verify(forged)).ok).toBe(false)
    expect((await verify(forged)).ok).toBe(false)
    vi.useFakeTimers({ now: Date.now() + 61_000 })
    try {
      expect(await verify(token)).toEqual({ ok: false, reason: "expired" })
      expect(await verify(token)).toEqual({ ok: false, reason: "expired" })
    } finally {
      vi.useRealTimers()
    }
  })

  it("forgets the oldest beyond its capacity, and still verifies what it forgot", async () => {
    const verify = makeTokenVerifier(secret, 1)
    const tokens = await Promise.all(["host", "observer"].map(async (role) =>
      (await signSessionToken(secret, { sessionId, role: role as "host" | "observer" })).token))
    for (const token of [...tokens, ...tokens]) expect((await verify(token)).ok).toBe(true)
  })
})
