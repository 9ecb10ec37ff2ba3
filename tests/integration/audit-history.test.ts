/**
 * A session's history, its archived state, and feeds resuming from further back than its index:
 * from Redis while it lives, from PostgreSQL for what Redis no longer holds.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { call, playSession, startServer, type TestServer, uuid } from "../support/app.ts"
import { expectAuditMatchesRedis } from "../support/audit.ts"
import { auditReader, testDatabaseUrl } from "../support/postgres.ts"
import { redisUrl } from "../support/redis.ts"
import { type FeedClient, ofType, openFeed } from "../support/ws.ts"

let server: TestServer
let redis: Redis
const SHARDS = 16

beforeAll(async () => {
  server = await startServer("audit-history", { shardCount: SHARDS }, "all")
  redis = new Redis(redisUrl, { protocol: 2 })
})
afterAll(async () => {
  await server.close()
  redis.disconnect()
})

const keysOf = (sessionId: string) => makeKeySchema({ keyPrefix: server.prefix, shardCount: SHARDS }).session(sessionId)
/** The index keeps the `count` newest events, as commits trimming it of the older ones would. */
const keepNewest = (indexKey: string, count: number) => redis.zremrangebyrank(indexKey, 0, -count - 1)

/** A started per_participant session with `switches` turns played: versions 1 … switches + 2. */
const playedSession = async (switches: number): Promise<string> => {
  const id = await playSession(server, switches, { increment_ms: 1000 })
  await expectAuditMatchesRedis(server.prefix, testDatabaseUrl(), [id])
  return id
}

/** Follows `next` from the first page to the last, collecting the versions. */
const allPages = async (id: string, order: "asc" | "desc", limit: number) => {
  const versions: Array<number> = []
  const sources: Array<boolean> = []
  let query = `order=${order}&limit=${limit}`
  for (let page = 0; page < 100; page++) {
    const reply = await call(server, "GET", `/v1/sessions/${id}/events?${query}`)
    expect(reply.status).toBe(200)
    versions.push(...reply.body.data.events.map((e: { version: number }) => e.version))
    sources.push(reply.body.data.archived)
    const next = reply.body.data.next
    if (next === null) return { versions, archived: sources }
    query = `order=${order}&limit=${limit}&${new URLSearchParams(Object.fromEntries(Object.entries(next).map(([k, v]) => [k, String(v)])))}`
  }
  throw new Error("more than 100 pages")
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Pages of `limit`, either way, give versions 1 … `last` of a live session (no page archived). */
const expectLiveHistory = async (id: string, limit: number, last: number) => {
  const asc = await allPages(id, "asc", limit)
  expect(asc.versions).toEqual(range(1, last))
  expect(asc.archived.every((archived) => !archived)).toBe(true)
  expect((await allPages(id, "desc", limit)).versions).toEqual(range(1, last).reverse())
}

describe("GET /v1/sessions/:id/events", () => {
  it("pages a live session's events by version, oldest or newest first, in the WebSocket's event shape", async () => {
    const id = await playedSession(20)
    const first = await call(server, "GET", `/v1/sessions/${id}/events?limit=5`)
    expect(first.body.data).toMatchObject({ session_id: id, archived: false, next: { after_version: 5 } })
    expect(first.body.data.events[0]).toMatchObject({ type: "SESSION_CREATED", version: 1, payload: { config: { session_id: id } } })
    expect(first.body.data.events[1]).toEqual({
      id: expect.stringMatching(/^\d+-\d+$/),
      type: "SESSION_STARTED",
      version: 2,
      at: expect.any(String),
      at_ms: expect.any(Number),
      payload: { active_participant_id: expect.any(String) }
    })
    expect((await allPages(id, "asc", 7)).versions).toEqual(range(1, 22))
    expect((await allPages(id, "desc", 5)).versions).toEqual(range(1, 22).reverse())
    const middle = await call(server, "GET", `/v1/sessions/${id}/events?after_version=3&before_version=7`)
    expect(middle.body.data.events.map((e: { version: number }) => e.version)).toEqual([4, 5, 6])
    expect(middle.body.data.next).toBeNull()
  })

  it("serves the versions its index was trimmed of from the audit, and pages across both", async () => {
    const id = await playedSession(30)
    await keepNewest(keysOf(id).index, 10)
    const asc = await allPages(id, "asc", 8)
    expect(asc.versions).toEqual(range(1, 32))
    expect(asc.archived.every((archived) => !archived)).toBe(true)
    expect((await allPages(id, "desc", 8)).versions).toEqual(range(1, 32).reverse())
    const live = await call(server, "GET", `/v1/sessions/${id}/events?order=desc&limit=3`)
    const audited = await call(server, "GET", `/v1/sessions/${id}/events?after_version=0&limit=3`)
    expect(live.body.data.events.map((e: { id: string }) => e.id)).toHaveLength(3)
    expect(audited.body.data.events[0]).toMatchObject({ version: 1, type: "SESSION_CREATED" })
  })

  it("serves the events whose shard-log entries were trimmed from the audit: the index starts at the first still in the log", async () => {
    const id = await playedSession(20)
    const since = await eventIdOf(id, 3)
    // The log loses versions 1 to 15, as once audited and out of the resume window; the session index still lists them.
    await redis.xtrim(keysOf(id).log, "MINID", await eventIdOf(id, 16))
    expect(await redis.zcard(keysOf(id).index)).toBe(22)
    await expectLiveHistory(id, 6, 22)

    const feed = await openFeed(server.baseUrl, { sessionId: id, since })
    expect(await feed.waitFor(ofType("RESUMED"))).toMatchObject({ since, replayed: 19, version: 22 })
    expect(updatedVersions(feed)).toEqual(range(4, 22))
    await feed.close()
  })

  it("serves a live session from the audit, not archived, when Redis holds none of the events its index lists", async () => {
    const id = await playedSession(5)
    const since = await eventIdOf(id, 7)
    // An idle session's events, once audited and out of the resume window: the log is trimmed of them all.
    await redis.xtrim(keysOf(id).log, "MAXLEN", 0)
    await expectLiveHistory(id, 3, 7)

    const feed = await openFeed(server.baseUrl, { sessionId: id, since })
    expect(await feed.waitFor(ofType("RESUMED"))).toMatchObject({ since, replayed: 0, version: 7 })
    expect((await call(server, "POST", `/v1/sessions/${id}/switch`)).status).toBe(200)
    await feed.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 8)
    await feed.close()
    expect((await allPages(id, "asc", 3)).versions).toEqual(range(1, 8))
  })

  it("answers 404 for a session nobody has heard of and 400 for a bad page", async () => {
    expect((await call(server, "GET", `/v1/sessions/${uuid()}/events`)).body.error.code).toBe("SESSION_NOT_FOUND")
    for (const query of ["limit=0", "limit=1001", "order=up", "after_version=-1", "after_version=1.5", "page=2"]) {
      const reply = await call(server, "GET", `/v1/sessions/${uuid()}/events?${query}`)
      expect(reply.status, query).toBe(400)
      expect(reply.body.error.code).toBe("VALIDATION_ERROR")
    }
  })
})

/** The versions of the STATE_UPDATE frames a feed has received. */
const updatedVersions = (feed: FeedClient) => feed.frames.filter(ofType("STATE_UPDATE")).map((f) => f.event.version as number)

/** The id of the event of this version, as the history gives it. */
const eventIdOf = async (id: string, version: number): Promise<string> =>
  (await call(server, "GET", `/v1/sessions/${id}/events?after_version=${version - 1}&limit=1`)).body.data.events[0].id

describe("resuming a feed from before the session index's oldest event", () => {
  it("replays the versions the index was trimmed of from the audit, then the index's, then goes live: every event once", async () => {
    const id = await playedSession(20)
    const since = await eventIdOf(id, 3)
    await keepNewest(keysOf(id).index, 5)

    const feed = await openFeed(server.baseUrl, { sessionId: id, since })
    expect(await feed.waitFor(ofType("RESUMED"))).toMatchObject({ since, replayed: 19, version: 22 })
    expect(feed.frames[0]).toMatchObject({ type: "CONNECTED" })
    expect(updatedVersions(feed)).toEqual(range(4, 22))
    // The states folded across the audit and Redis are the session's.
    const live = (await call(server, "GET", `/v1/sessions/${id}`)).body.data
    expect(feed.frames.filter(ofType("STATE_UPDATE")).at(-1)!.state).toMatchObject({
      version: 22,
      last_event_id: live.last_event_id,
      participants: live.participants.map((p: { total_time_ms: number }) => expect.objectContaining({ total_time_ms: p.total_time_ms }))
    })

    expect((await call(server, "POST", `/v1/sessions/${id}/switch`)).status).toBe(200)
    await feed.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 23)
    feed.send({ type: "RESUME", since: await eventIdOf(id, 1) })
    await feed.waitFor((f) => f.type === "RESUMED" && f.replayed === 22)
    expect(updatedVersions(feed)).toEqual([...range(4, 23), ...range(2, 23)])
    await feed.close()
  })

  it("sends the full state instead when the audit misses a version between `since` and the index", async () => {
    const id = await playedSession(10)
    const since = await eventIdOf(id, 2)
    await keepNewest(keysOf(id).index, 4)
    const audit = auditReader(testDatabaseUrl())
    await audit.query("DELETE FROM session_events WHERE session_id = $1 AND version = 6", [id])
    await audit.close()

    const feed = await openFeed(server.baseUrl, { sessionId: id, since })
    expect(await feed.waitFor(ofType("STATE_SYNC"))).toMatchObject({ resumed: false, version: 12 })
    expect(feed.frames.map((f) => f.type)).toEqual(["CONNECTED", "STATE_SYNC"])
    await feed.close()
  })
})

describe("a session that has left Redis", () => {
  it("answers its last audited state, archived, and refuses commands", async () => {
    const id = await playedSession(3)
    expect((await call(server, "POST", `/v1/sessions/${id}/complete`)).status).toBe(200)
    const live = await call(server, "GET", `/v1/sessions/${id}`)
    await expectAuditMatchesRedis(server.prefix, testDatabaseUrl(), [id])
    // What the keys' TTL does after a while.
    await redis.unlink(keysOf(id).snapshot, keysOf(id).index)

    const archived = await call(server, "GET", `/v1/sessions/${id}`)
    expect(archived.status).toBe(200)
    const { server_time_ms: _now, ...liveState } = live.body.data
    expect(archived.body.data).toMatchObject({ ...liveState, archived: true })
    expect(archived.headers.get("etag")).toBe(`"${live.body.data.version}"`)

    const history = await call(server, "GET", `/v1/sessions/${id}/events?order=desc&limit=2`)
    expect(history.body.data).toMatchObject({ archived: true, next: { before_version: 5 } })
    expect(history.body.data.events.map((e: { type: string }) => e.type)).toEqual(["SESSION_COMPLETED", "CYCLE_SWITCHED"])
    expect((await allPages(id, "asc", 2)).versions).toEqual(range(1, 6))

    const command = await call(server, "POST", `/v1/sessions/${id}/switch`)
    expect(command.status).toBe(404)
    expect(command.body.error.code).toBe("SESSION_NOT_FOUND")
  })

  it("is not found once deleted, but its history stays readable", async () => {
    const id = await playedSession(1)
    expect((await call(server, "DELETE", `/v1/sessions/${id}`)).status).toBe(204)
    await expectAuditMatchesRedis(server.prefix, testDatabaseUrl(), [id])
    await redis.unlink(keysOf(id).index)
    expect((await call(server, "GET", `/v1/sessions/${id}`)).status).toBe(404)
    const history = await call(server, "GET", `/v1/sessions/${id}/events?order=desc&limit=1`)
    expect(history.body.data).toMatchObject({ archived: true, events: [{ type: "SESSION_DELETED", version: 4 }] })
  })
})

describe("without PostgreSQL", () => {
  it("keeps serving commands and resuming feeds from the last event, reports the audit down on /ready, and answers 503 where only the audit can", async () => {
    const cut = await startServer("audit-history-nopg", { databaseUrl: "postgres://postgres@127.0.0.1:1/synckairos" }, "all")
    try {
      const id = uuid()
      const created = await call(cut, "POST", "/v1/sessions", {
        session_id: id,
        sync_mode: "global",
        total_time_ms: 60_000,
        participants: [{ participant_id: uuid() }]
      })
      expect(created.status).toBe(201)
      expect((await call(cut, "POST", `/v1/sessions/${id}/start`)).status).toBe(200)
      expect((await call(cut, "GET", `/v1/sessions/${id}/events`)).body.data.events).toHaveLength(2)
      // A resume from before the index's oldest event gets the full state.
      const since = (await call(cut, "GET", `/v1/sessions/${id}/events?limit=1`)).body.data.events[0].id
      const [index] = await redis.keys(`${cut.prefix}*index:${id}`)
      await redis.zremrangebyrank(index!, 0, -2)
      const feed = await openFeed(cut.baseUrl, { sessionId: id, since })
      expect(await feed.waitFor(ofType("STATE_SYNC"))).toMatchObject({ resumed: false, version: 2 })
      await feed.close()
      // A resume from the last event (the usual reconnect) needs nothing of the audit: resumed, and live.
      const latest = (await call(cut, "GET", `/v1/sessions/${id}`)).body.data.last_event_id
      const resumed = await openFeed(cut.baseUrl, { sessionId: id, since: latest })
      expect(await resumed.waitFor(ofType("RESUMED"))).toMatchObject({ since: latest, replayed: 0, version: 2, last_event_id: latest })
      expect((await call(cut, "POST", `/v1/sessions/${id}/pause`)).status).toBe(200)
      expect(await resumed.waitFor(ofType("STATE_UPDATE"))).toMatchObject({ event: { version: 3 }, state: { version: 3, status: "paused" } })
      expect(resumed.frames.map((f) => f.type)).toEqual(["CONNECTED", "RESUMED", "STATE_UPDATE"])
      await resumed.close()

      const ready = await call(cut, "GET", "/ready")
      expect(ready.status).toBe(200)
      expect(ready.body.status).toBe("degraded")
      expect(ready.body.checks.redis).toBe("ok")
      expect(ready.body.checks.postgres).not.toBe("ok")

      const gone = await call(cut, "GET", `/v1/sessions/${uuid()}/events`)
      expect(gone.status).toBe(503)
      expect(gone.body.error.code).toBe("AUDIT_UNAVAILABLE")
    } finally {
      await cut.close()
    }
  })
})
