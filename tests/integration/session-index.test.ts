/**
 * What a session costs Redis besides its snapshot: an index of its events of the resume window, a
 * sorted set small enough to be a listpack allocated to fit (a stream preallocates a 4 KB node). And
 * what the window is for: history and resume within it come from Redis alone.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { call, playSession, startServer, type TestServer } from "../support/app.ts"
import { redisUrl } from "../support/redis.ts"
import { ofType, openFeed } from "../support/ws.ts"

let server: TestServer
let redis: Redis
const SHARDS = 4

// No PostgreSQL behind this server: whatever it answers without a 503 came from Redis.
beforeAll(async () => {
  server = await startServer("session-index", { shardCount: SHARDS, databaseUrl: "postgres://postgres@127.0.0.1:1/synckairos" })
  redis = new Redis(redisUrl, { protocol: 2 })
})
afterAll(async () => {
  await server.close()
  redis.disconnect()
})

const indexOf = (sessionId: string) => makeKeySchema({ keyPrefix: server.prefix, shardCount: SHARDS }).session(sessionId).index

/** A started session with `events` events: created, started, then switches. */
const sessionOf = (events: number): Promise<string> => playSession(server, events - 2)

describe("a session's index", () => {
  // Bounds far below the 4,750 B a stream of any of these lengths took.
  it.each([[6, 256], [52, 1_536]])("of %i events takes under %i B of Redis", async (events, bound) => {
    const id = await sessionOf(events)
    expect(await redis.zcard(indexOf(id))).toBe(events)
    expect(await redis.object("ENCODING", indexOf(id))).toBe("listpack")
    expect(await redis.memory("USAGE", indexOf(id), "SAMPLES", 0)).toBeLessThan(bound)
  })

  it("serves history and resume within the window from Redis, without the audit", async () => {
    const id = await sessionOf(52)
    const asc = await call(server, "GET", `/v1/sessions/${id}/events?limit=100`)
    expect(asc.status).toBe(200)
    expect(asc.body.data).toMatchObject({ archived: false, next: null })
    expect(asc.body.data.events.map((e: { version: number }) => e.version)).toEqual(Array.from({ length: 52 }, (_, i) => i + 1))
    const desc = await call(server, "GET", `/v1/sessions/${id}/events?order=desc&limit=10&before_version=20`)
    expect(desc.status).toBe(200)
    expect(desc.body.data.events.map((e: { version: number }) => e.version)).toEqual(Array.from({ length: 10 }, (_, i) => 19 - i))

    const since = asc.body.data.events[0].id
    const feed = await openFeed(server.baseUrl, { sessionId: id, since })
    expect(await feed.waitFor(ofType("RESUMED"))).toMatchObject({ since, replayed: 51, version: 52 })
    await feed.close()
  })
})
