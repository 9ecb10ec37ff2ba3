/**
 * Rate limits shared through Redis: one limit per credential across two instances, 429 RATE_LIMITED
 * with Retry-After and RateLimit-* headers, WebSocket frames limited per socket, and per client
 * address when auth is off.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, type Reply, sessionBody, startServer, type TestServer } from "../support/app.ts"
import { API_KEY, authOn, callAs, mint, runningSession } from "../support/auth.ts"
import { redisUrl } from "../support/redis.ts"
import { openFeed, ofType } from "../support/ws.ts"

const RPS = 5

let a: TestServer
let b: TestServer
let open: TestServer
let redis: Redis
beforeAll(async () => {
  a = await startServer("auth-rate-limit", authOn({ rateLimitTokenRps: RPS }))
  b = await startServer("auth-rate-limit", { ...authOn({ rateLimitTokenRps: RPS }), keyPrefix: a.prefix })
  open = await startServer("auth-rate-limit-open", { rateLimitKeyRps: RPS })
  redis = new Redis(redisUrl, { protocol: 2 })
})
afterAll(async () => {
  redis.disconnect()
  await open.close()
  await b.close()
  await a.close()
})

/** Waits until the counter `key` has expired, so that the next request opens a fresh one-second window. */
const freshWindow = async (key: string) => {
  const deadline = Date.now() + 5000
  while ((await redis.pttl(key)) !== -2) {
    if (Date.now() > deadline) throw new Error(`${key} never expired`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const expectRateLimited = (reply: Reply) => {
  expect(reply.status).toBe(429)
  expect(reply.body.error.code).toBe("RATE_LIMITED")
  expect(typeof reply.body.error.message).toBe("string")
  expect(Number(reply.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
  expect(reply.headers.get("ratelimit-limit")).toBe(String(RPS))
  expect(reply.headers.get("ratelimit-remaining")).toBe("0")
  expect(reply.headers.get("ratelimit-reset")).not.toBeNull()
}

describe("a session token's limit", () => {
  it("holds across both instances together", async () => {
    const { id } = await runningSession(a)
    const observer = await mint(a, id, { role: "observer" })
    const counter = `ratelimit:${a.prefix}token:${id}:observer:`
    const first = await callAs(observer, a, "GET", `/v1/sessions/${id}`)
    expect(first.status).toBe(200)
    expect(first.headers.get("ratelimit-limit")).toBe(String(RPS))
    expect(first.headers.get("ratelimit-remaining")).toBe(String(RPS - 1))
    await freshWindow(counter)

    const started = Date.now()
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => callAs(observer, i % 2 === 0 ? a : b, "GET", `/v1/sessions/${id}`)))
    const elapsedMs = Date.now() - started
    // Each instance alone would have let RPS through: together they let RPS through within one window.
    // A loaded machine may stretch the burst over a window boundary, which lets one more window's worth.
    const accepted = replies.filter((r) => r.status === 200).length
    expect(accepted).toBeGreaterThanOrEqual(RPS)
    expect(accepted, `burst took ${elapsedMs} ms`).toBeLessThanOrEqual(elapsedMs < 1000 ? RPS : 2 * RPS)
    const limited = replies.filter((r) => r.status !== 200)
    limited.forEach(expectRateLimited)
    expect(new Set(replies.flatMap((r, i) => r.status === 429 ? [i % 2] : []))).toEqual(new Set([0, 1]))

    // Other credentials keep their own budget meanwhile, and the token's comes back with the next window.
    expect((await callAs(API_KEY, b, "GET", `/v1/sessions/${id}`)).status).toBe(200)
    await freshWindow(counter)
    expect((await callAs(observer, b, "GET", `/v1/sessions/${id}`)).status).toBe(200)
  })

  it("a limited command writes nothing", async () => {
    const { id } = await runningSession(a)
    const host = await mint(a, id, { role: "host" })
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => callAs(host, i % 2 === 0 ? a : b, "POST", `/v1/sessions/${id}/switch`, {})))
    const applied = replies.filter((r) => r.status === 200)
    replies.filter((r) => r.status !== 200).forEach(expectRateLimited)
    // A burst may straddle two windows; never more.
    expect(applied.length).toBeGreaterThanOrEqual(1)
    expect(applied.length).toBeLessThanOrEqual(2 * RPS)
    const session = await callAs(API_KEY, a, "GET", `/v1/sessions/${id}`)
    expect(session.body.data.version).toBe(2 + applied.length)
  })
})

describe("WebSocket frames", () => {
  it("beyond the credential's rate are refused with ERROR frames, then the socket is closed with 1008", async () => {
    const { id } = await runningSession(a)
    const observer = await mint(a, id, { role: "observer" })
    const feed = await openFeed(b.baseUrl, { sessionId: id, token: observer })
    await feed.waitFor(ofType("STATE_SYNC"))
    for (let i = 0; i < 40; i++) feed.send({ type: "PING", client_time: i })
    const closed = await feed.closed
    expect(closed.code).toBe(1008)
    expect(feed.frames.filter(ofType("PONG")).length).toBeLessThanOrEqual(RPS + 1)
    const errors = feed.frames.filter(ofType("ERROR"))
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((f) => f.code === "RATE_LIMITED")).toBe(true)
  })
})

describe("with auth off", () => {
  it("limits per client address, leaves /v1/time alone, and /ready says auth is off", async () => {
    expect((await call(open, "GET", "/ready")).body.auth).toBe("off")
    const body = sessionBody("global", 1)
    expect((await call(open, "POST", "/v1/sessions", body)).status).toBe(201)
    const replies = await Promise.all(Array.from({ length: 20 }, () => call(open, "GET", `/v1/sessions/${body.session_id}`)))
    expect(replies.filter((r) => r.status === 200).length).toBeLessThanOrEqual(2 * RPS)
    replies.filter((r) => r.status !== 200).forEach(expectRateLimited)
    const times = await Promise.all(Array.from({ length: 20 }, () => call(open, "GET", "/v1/time")))
    expect(times.map((r) => r.status)).toEqual(Array(20).fill(200))
  })
})
