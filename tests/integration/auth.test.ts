/**
 * Access control on two instances sharing Redis: API keys, session tokens and their roles, the token
 * route, /ws credentials, credential-scoped idempotency, CORS, and the routes that stay open.
 */
import { SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { signSessionToken } from "../../src/app/auth/tokens.ts"
import { call, sessionBody, startServer, type TestServer, uuid } from "../support/app.ts"
import { API_KEY, authOn, bearer, callAs, mint, OTHER_API_KEY, runningSession, TOKEN_SECRET } from "../support/auth.ts"
import { keysWithPrefix } from "../support/redis.ts"
import { openFeed, ofType } from "../support/ws.ts"

const ORIGIN = "https://game.example.com"

let a: TestServer
let b: TestServer
beforeAll(async () => {
  a = await startServer("auth", authOn({ corsOrigins: [ORIGIN] }))
  // The second instance shares the first one's keys: a separate process in all but the PID.
  b = await startServer("auth", { ...authOn({ corsOrigins: [ORIGIN] }), keyPrefix: a.prefix })
})
afterAll(async () => {
  await b.close()
  await a.close()
})

describe("without credentials", () => {
  it.each([
    ["POST", "/v1/sessions"],
    ["GET", `/v1/sessions/${uuid()}`],
    ["GET", `/v1/sessions/${uuid()}/events`],
    ["POST", `/v1/sessions/${uuid()}/switch`],
    ["DELETE", `/v1/sessions/${uuid()}`],
    ["POST", `/v1/sessions/${uuid()}/tokens`]
  ])("%s %s answers 401 UNAUTHORIZED", async (method, path) => {
    const reply = await call(a, method, path, method === "POST" ? {} : undefined)
    expect(reply.status).toBe(401)
    expect(reply.body.error.code).toBe("UNAUTHORIZED")
    expect(reply.headers.get("www-authenticate")).toBe("Bearer")
  })

  it.each(["/health", "/ready", "/v1/time", "/docs/json"])("%s stays open", async (path) => {
    expect((await call(a, "GET", path)).status).toBe(200)
  })

  it("/ready says auth is on", async () => {
    expect((await call(a, "GET", "/ready")).body.auth).toBe("on")
  })

  it("the OpenAPI document shows the bearer scheme, and the open routes without it", async () => {
    const doc = (await call(a, "GET", "/docs/json")).body
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" })
    expect(doc.security).toEqual([{ bearer: [] }])
    expect(doc.paths["/v1/time"].get.security).toEqual([])
    expect(doc.paths["/v1/sessions/{id}/tokens"].post.responses).toHaveProperty("201")
  })
})

describe("API keys", () => {
  it("either key may do everything, on either instance", async () => {
    const body = sessionBody("per_participant", 2)
    expect((await callAs(API_KEY, a, "POST", "/v1/sessions", body)).status).toBe(201)
    expect((await callAs(OTHER_API_KEY, b, "POST", `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
    expect((await callAs(API_KEY, b, "POST", `/v1/sessions/${body.session_id}/switch`)).status).toBe(200)
    expect((await callAs(OTHER_API_KEY, a, "GET", `/v1/sessions/${body.session_id}/events`)).status).toBe(200)
    expect((await callAs(API_KEY, a, "DELETE", `/v1/sessions/${body.session_id}`)).status).toBe(204)
  })

  it("a key that is almost right is refused", async () => {
    const reply = await callAs(`${API_KEY.slice(0, -1)}x`, a, "POST", "/v1/sessions", sessionBody("global", 1))
    expect([reply.status, reply.body.error.code]).toEqual([401, "UNAUTHORIZED"])
  })
})

describe("POST /v1/sessions/:id/tokens", () => {
  it("answers 201 with a token and its expiry; minted on A, it works on B", async () => {
    const { id, participants } = await runningSession(a)
    const before = Date.now()
    const reply = await callAs(API_KEY, a, "POST", `/v1/sessions/${id}/tokens`, { role: "participant", participant_id: participants[0], ttl_seconds: 600 })
    const after = Date.now()
    expect(reply.status).toBe(201)
    expect(typeof reply.body.data.token).toBe("string")
    // A JWT's expiry is in whole seconds: 600 s from the second the token was signed in.
    const expiresAt = Date.parse(reply.body.data.expires_at)
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 600_000)
    expect(expiresAt).toBeLessThanOrEqual(after + 600_000)
    const read = await callAs(reply.body.data.token, b, "GET", `/v1/sessions/${id}`)
    expect(read.status).toBe(200)
    expect(read.body.data.session_id).toBe(id)
  })

  it.each([
    ["a participant token without participant_id", { role: "participant" }, 400, "participant_id"],
    ["a participant who is not in the session", { role: "participant", participant_id: "00000000-0000-4000-8000-000000000000" }, 400, "participant_id"],
    ["an observer token naming a participant", { role: "observer", participant_id: "PARTICIPANT" }, 400, "participant_id"],
    ["a ttl under a minute", { role: "host", ttl_seconds: 10 }, 400, "ttl_seconds"],
    ["a ttl over a day", { role: "host", ttl_seconds: 86_401 }, 400, "ttl_seconds"],
    ["an unknown role", { role: "admin" }, 400, "role"]
  ])("refuses %s, naming the field", async (_name, grant, status, field) => {
    const { id, participants } = await runningSession(a)
    const body = Object.fromEntries(Object.entries(grant).map(([k, v]) => [k, v === "PARTICIPANT" ? participants[0] : v]))
    const reply = await callAs(API_KEY, a, "POST", `/v1/sessions/${id}/tokens`, body)
    expect(reply.status).toBe(status)
    expect(reply.body.error.code).toBe("VALIDATION_ERROR")
    expect(reply.body.error.details.map((d: { field: string }) => d.field)).toContain(field)
  })

  it("answers 404 for a session that does not exist", async () => {
    const reply = await callAs(API_KEY, a, "POST", `/v1/sessions/${uuid()}/tokens`, { role: "observer" })
    expect([reply.status, reply.body.error.code]).toEqual([404, "SESSION_NOT_FOUND"])
  })

  it("is for API keys only: a host token cannot mint", async () => {
    const { id } = await runningSession(a)
    const host = await mint(a, id, { role: "host" })
    const reply = await callAs(host, a, "POST", `/v1/sessions/${id}/tokens`, { role: "host" })
    expect([reply.status, reply.body.error.code]).toEqual([403, "FORBIDDEN"])
  })

  it("a token a game server signed itself with TOKEN_SECRET works the same", async () => {
    const { id } = await runningSession(a)
    const { token } = await signSessionToken(TOKEN_SECRET, { sessionId: id, role: "observer" })
    expect((await callAs(token, b, "GET", `/v1/sessions/${id}`)).status).toBe(200)
  })
})

describe("roles", () => {
  const commands = ["start", "pause", "resume", "complete", "cancel"] as const

  it("participant: reads, follows and switches on its own turn only; nothing else", async () => {
    const { id, participants: [first, second] } = await runningSession(a)
    const mine = await mint(a, id, { role: "participant", participant_id: first })
    const theirs = await mint(b, id, { role: "participant", participant_id: second })
    expect((await callAs(mine, a, "GET", `/v1/sessions/${id}`)).status).toBe(200)
    expect((await callAs(mine, b, "GET", `/v1/sessions/${id}/events`)).status).toBe(200)

    const early = await callAs(theirs, b, "POST", `/v1/sessions/${id}/switch`)
    expect([early.status, early.body.error.code]).toEqual([403, "NOT_YOUR_TURN"])
    expect(early.body.error.details).toEqual({ participant_id: second, active_participant_id: first })
    const switched = await callAs(mine, a, "POST", `/v1/sessions/${id}/switch`, { next_participant_id: second })
    expect(switched.status).toBe(200)
    expect(switched.body.data.active_participant_id).toBe(second)
    const again = await callAs(mine, b, "POST", `/v1/sessions/${id}/switch`)
    expect([again.status, again.body.error.code]).toEqual([403, "NOT_YOUR_TURN"])
    expect((await callAs(theirs, b, "POST", `/v1/sessions/${id}/switch`)).status).toBe(200)

    for (const verb of commands) {
      const reply = await callAs(mine, a, "POST", `/v1/sessions/${id}/${verb}`)
      expect([verb, reply.status, reply.body.error.code]).toEqual([verb, 403, "FORBIDDEN"])
    }
    expect((await callAs(mine, a, "DELETE", `/v1/sessions/${id}`)).status).toBe(403)
    expect((await callAs(mine, a, "POST", "/v1/sessions", sessionBody("global", 1))).status).toBe(403)
  })

  it("host: every command but delete", async () => {
    const body = sessionBody("per_participant", 2)
    const id = body.session_id
    expect((await callAs(API_KEY, a, "POST", "/v1/sessions", body)).status).toBe(201)
    const host = await mint(a, id, { role: "host" })
    for (const verb of ["start", "switch", "pause", "resume", "switch", "complete"]) {
      const reply = await callAs(host, verb === "switch" ? b : a, "POST", `/v1/sessions/${id}/${verb}`)
      expect([verb, reply.status]).toEqual([verb, 200])
    }
    const deleted = await callAs(host, a, "DELETE", `/v1/sessions/${id}`)
    expect([deleted.status, deleted.body.error.code]).toEqual([403, "FORBIDDEN"])

    const other = await runningSession(a)
    const otherHost = await mint(a, other.id, { role: "host" })
    expect((await callAs(otherHost, a, "POST", `/v1/sessions/${other.id}/cancel`)).status).toBe(200)
  })

  it("observer: reads and follows only", async () => {
    const { id } = await runningSession(a)
    const observer = await mint(a, id, { role: "observer" })
    expect((await callAs(observer, b, "GET", `/v1/sessions/${id}`)).status).toBe(200)
    for (const verb of ["switch", ...commands]) {
      const reply = await callAs(observer, a, "POST", `/v1/sessions/${id}/${verb}`)
      expect([verb, reply.status, reply.body.error.code]).toEqual([verb, 403, "FORBIDDEN"])
    }
  })

  it("a token holds for its own session only", async () => {
    const mine = await runningSession(a)
    const other = await runningSession(a)
    const host = await mint(a, mine.id, { role: "host" })
    for (const [method, path] of [["GET", `/v1/sessions/${other.id}`], ["POST", `/v1/sessions/${other.id}/pause`], ["GET", `/v1/sessions/${other.id}/events`]]) {
      const reply = await callAs(host, b, method!, path!)
      expect([path, reply.status, reply.body.error.code]).toEqual([path, 403, "FORBIDDEN"])
    }
  })
})

describe("/ws", () => {
  it("follows with the token as a query parameter or in the Authorization header", async () => {
    const { id } = await runningSession(a)
    const observer = await mint(a, id, { role: "observer" })
    const byQuery = await openFeed(b.baseUrl, { sessionId: id, token: observer })
    const byHeader = await openFeed(a.baseUrl, { sessionId: id }, { headers: bearer(observer) })
    const byKey = await openFeed(a.baseUrl, { sessionId: id, token: API_KEY })
    for (const client of [byQuery, byHeader, byKey]) await client.waitFor(ofType("STATE_SYNC"))
    await callAs(API_KEY, a, "POST", `/v1/sessions/${id}/switch`)
    for (const client of [byQuery, byHeader, byKey]) {
      await client.waitFor((f) => f.type === "STATE_UPDATE" && f.event.type === "CYCLE_SWITCHED")
      await client.close()
    }
  })

  it.each([
    ["no credential", () => Promise.resolve(undefined), 401],
    ["a bad credential", () => Promise.resolve("nonsense"), 401],
    ["another session's token", async () => mint(a, (await runningSession(a)).id, { role: "observer" }), 403]
  ])("refuses %s at the upgrade", async (_name, credential, status) => {
    const { id } = await runningSession(a)
    const token = await credential()
    const opened = openFeed(a.baseUrl, token === undefined ? { sessionId: id } : { sessionId: id, token })
    await expect(opened).rejects.toThrow(`Unexpected server response: ${status}`)
  })
})

describe("idempotency keys", () => {
  it("are scoped by credential: another client's key does not replay its answer", async () => {
    const { id } = await runningSession(a)
    const host = await mint(a, id, { role: "host" })
    const key = { "idempotency-key": "switch-once" }
    const first = await callAs(host, a, "POST", `/v1/sessions/${id}/switch`, {}, key)
    const retried = await callAs(host, b, "POST", `/v1/sessions/${id}/switch`, {}, key)
    expect(retried.body.data.version).toBe(first.body.data.version)
    const someoneElse = await callAs(API_KEY, b, "POST", `/v1/sessions/${id}/switch`, {}, key)
    expect(someoneElse.status).toBe(200)
    expect(someoneElse.body.data.version).toBe(first.body.data.version + 1)
  })
})

describe("CORS", () => {
  it("answers a listed origin's preflight without credentials, and marks its answers", async () => {
    const preflight = await fetch(`${a.baseUrl}/v1/sessions/${uuid()}/switch`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" }
    })
    expect(preflight.status).toBeLessThan(300)
    expect(preflight.headers.get("access-control-allow-origin")).toBe(ORIGIN)
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization")
    const refused = await call(a, "GET", `/v1/sessions/${uuid()}`, undefined, { origin: ORIGIN })
    expect(refused.status).toBe(401)
    expect(refused.headers.get("access-control-allow-origin")).toBe(ORIGIN)
  })

  it("gives an unlisted origin nothing", async () => {
    const reply = await call(a, "GET", "/v1/time", undefined, { origin: "https://evil.example.com" })
    expect(reply.headers.get("access-control-allow-origin")).toBeNull()
  })
})

describe("bad credentials, fuzzed", () => {
  const now = () => Math.floor(Date.now() / 1000)
  const sign = (claims: Record<string, unknown>, secret = TOKEN_SECRET) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret))
  const unsigned = (claims: Record<string, unknown>) =>
    `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`

  /** Each bad credential for a session, and the status it must get (an observer may still follow on /ws). */
  const badCredentials = async (id: string, first: string): Promise<Array<[string, string, number]>> => {
    const other = await runningSession(a)
    const participantClaims = { sid: id, role: "participant", pid: first, iat: now(), exp: now() + 600 }
    return [
      ["empty", "", 401],
      ["huge", "x".repeat(8_000), 401],
      ["huge, JWT-shaped", `${"a".repeat(3000)}.${"b".repeat(3000)}.${"c".repeat(1000)}`, 401],
      ["non-ASCII", "ünïcødé-ÿ", 401],
      ["alg none", unsigned(participantClaims), 401],
      ["another secret", await sign(participantClaims, "another-secret-another-secret-0123456789"), 401],
      ["expired", await sign({ ...participantClaims, iat: now() - 7200, exp: now() - 3600 }), 401],
      ["a role that does not exist", await sign({ ...participantClaims, role: "admin" }), 401],
      ["another session's host token", await mint(a, other.id, { role: "host" }), 403],
      ["an observer token", await mint(a, id, { role: "observer" }), 403]
    ]
  }

  it("always 401/403, never 5xx, nothing written: Authorization header and ?token=", async () => {
    const { id, participants } = await runningSession(a)
    const cases = await badCredentials(id, participants[0]!)
    const before = await keysWithPrefix(a.prefix)
    const version = (await callAs(API_KEY, a, "GET", `/v1/sessions/${id}`)).body.data.version
    const requests: Array<[string, string, unknown]> = [
      ["POST", `/v1/sessions/${id}/switch`, {}],
      ["POST", `/v1/sessions/${id}/pause`, {}],
      ["DELETE", `/v1/sessions/${id}`, undefined],
      ["POST", "/v1/sessions", sessionBody("global", 1)],
      ["POST", `/v1/sessions/${id}/tokens`, { role: "host" }]
    ]
    for (const [name, credential, status] of cases) {
      for (const [method, path, body] of requests) {
        for (const headers of [{ authorization: `Bearer ${credential}` }, { authorization: credential }, { authorization: `Basic ${credential}` }]) {
          const reply = await call(a, method, path, body, headers)
          // A token of this session's observer is a valid credential: only its lack of rights is refused.
          const expected = headers.authorization.startsWith("Bearer ") ? status : 401
          expect([name, path, reply.status]).toEqual([name, path, expected])
          expect(["UNAUTHORIZED", "FORBIDDEN"]).toContain(reply.body.error.code)
        }
      }
      // On /ws the credential may also come as ?token=; a refused upgrade writes nothing either.
      const feed = openFeed(b.baseUrl, { sessionId: id, token: credential })
      if (name === "an observer token") await (await feed).close()
      else await expect(feed).rejects.toThrow(`Unexpected server response: ${status}`)
    }
    expect(await keysWithPrefix(a.prefix)).toEqual(before)
    expect((await callAs(API_KEY, a, "GET", `/v1/sessions/${id}`)).body.data.version).toBe(version)
  })
})
