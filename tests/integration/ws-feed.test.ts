/** The WebSocket feed of one instance: handshake, live updates, resume, time sync, and connection health. */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, sessionBody, startServer, type TestServer, uuid } from "../support/app.ts"
import { redisUrl } from "../support/redis.ts"
import { type FeedClient, type Frame, ofType, openFeed } from "../support/ws.ts"

let server: TestServer
beforeAll(async () => {
  // Room for the large metadata of the slow-consumer test.
  server = await startServer("ws-feed", { wsSendBufferLimitBytes: 65_536, wsMaxInvalidMessages: 3, metadataMaxBytes: 262_144 })
})
afterAll(() => server.close())

const createStarted = async (extra: Record<string, unknown> = {}, participants = 2) => {
  const body = sessionBody("per_participant", participants, extra)
  expect((await call(server, "POST", "/v1/sessions", body)).status).toBe(201)
  expect((await call(server, "POST", `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
  return body.session_id
}
const switchTurn = async (sessionId: string) => {
  const reply = await call(server, "POST", `/v1/sessions/${sessionId}/switch`)
  expect(reply.status).toBe(200)
  return reply.body.data as { version: number; last_event_id: string }
}
/** A feed of the session, once its STATE_SYNC has arrived. */
const syncedFeed = async (sessionId: string) => {
  const feed = await openFeed(server.baseUrl, { sessionId })
  await feed.waitFor(ofType("STATE_SYNC"))
  return feed
}
const updates = (feed: FeedClient) => feed.frames.filter(ofType("STATE_UPDATE"))
const versionsOf = (frames: ReadonlyArray<Frame>) => frames.map((f) => f.event.version as number)
const metricsText = () => fetch(`${server.baseUrl}/metrics`).then((r) => r.text())

describe("live feed", () => {
  it("greets with CONNECTED and STATE_SYNC, then pushes every event as STATE_UPDATE in order", async () => {
    const sessionId = await createStarted()
    const read = (await call(server, "GET", `/v1/sessions/${sessionId}`)).body.data
    const feed = await openFeed(server.baseUrl, { sessionId })
    const sync = await feed.waitFor(ofType("STATE_SYNC"))
    expect(feed.frames[0]).toMatchObject({ type: "CONNECTED", sessionId })
    expect(sync).toMatchObject({ sessionId, version: 2, last_event_id: read.last_event_id, resumed: false })
    expect(sync.state).toMatchObject({ session_id: sessionId, status: "running", version: 2, last_event_id: read.last_event_id })

    const answers: Array<{ version: number; last_event_id: string }> = []
    for (let i = 0; i < 5; i++) answers.push(await switchTurn(sessionId))
    await feed.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 7)
    const pushed = updates(feed)
    expect(versionsOf(pushed)).toEqual([3, 4, 5, 6, 7])
    pushed.forEach((frame, i) => {
      expect(frame.event).toMatchObject({ id: answers[i]!.last_event_id, type: "CYCLE_SWITCHED", version: 3 + i })
      expect(frame.event.payload).toHaveProperty("to_participant_id")
      expect(frame.state).toMatchObject({ version: 3 + i, last_event_id: answers[i]!.last_event_id })
      expect(frame.state.server_time_ms).toBeGreaterThanOrEqual(frame.event.at_ms)
    })
    await feed.close()
  })

  it("sends SESSION_DELETED and closes the feed when the session is deleted", async () => {
    const sessionId = await createStarted()
    const feed = await syncedFeed(sessionId)
    expect((await call(server, "DELETE", `/v1/sessions/${sessionId}`)).status).toBe(204)
    const deleted = await feed.waitFor(ofType("SESSION_DELETED"))
    expect(deleted).toMatchObject({ sessionId, event: { type: "SESSION_DELETED", version: 3 } })
    expect((await feed.closed).code).toBe(1000)
  })

  it("answers an unknown session with SESSION_NOT_FOUND and 1008, and a malformed query with VALIDATION_ERROR", async () => {
    const unknown = await openFeed(server.baseUrl, { sessionId: uuid() })
    expect(await unknown.waitFor(ofType("ERROR"))).toMatchObject({ code: "SESSION_NOT_FOUND" })
    expect((await unknown.closed).code).toBe(1008)
    expect(unknown.frames.map((f) => f.type)).toEqual(["ERROR"])

    for (const query of [{ sessionId: "not-a-uuid" }, { sessionId: uuid(), since: "yesterday" }] as Array<Record<string, string>>) {
      const bad = await openFeed(server.baseUrl, query)
      expect(await bad.waitFor(ofType("ERROR"))).toMatchObject({ code: "VALIDATION_ERROR" })
      expect((await bad.closed).code).toBe(1008)
    }
  })
})

describe("resume", () => {
  it("replays exactly the events after `since`, then RESUMED, then the live feed", async () => {
    const sessionId = await createStarted()
    const answers: Array<{ version: number; last_event_id: string }> = []
    for (let i = 0; i < 4; i++) answers.push(await switchTurn(sessionId))
    const since = answers[1]!.last_event_id // version 4

    const feed = await openFeed(server.baseUrl, { sessionId, since })
    const resumed = await feed.waitFor(ofType("RESUMED"))
    expect(resumed).toMatchObject({ since, replayed: 2, version: 6, last_event_id: answers[3]!.last_event_id })
    expect(feed.frames.map((f) => f.type)).toEqual(["CONNECTED", "STATE_UPDATE", "STATE_UPDATE", "RESUMED"])
    expect(versionsOf(updates(feed))).toEqual([5, 6])
    // The replayed states are the ones the live feed showed at the time.
    const live = (await call(server, "GET", `/v1/sessions/${sessionId}`)).body.data
    expect(updates(feed)[1]!.state.participants.map((p: any) => p.total_time_ms))
      .toEqual(live.participants.map((p: any) => p.total_time_ms))

    await switchTurn(sessionId)
    await feed.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 7)
    expect(versionsOf(updates(feed))).toEqual([5, 6, 7])
    await feed.close()
  })

  it("resumes on an open socket with a RESUME message, even from the last event", async () => {
    const sessionId = await createStarted()
    const first = await switchTurn(sessionId)
    const feed = await syncedFeed(sessionId)
    const second = await switchTurn(sessionId)
    await feed.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 4)

    feed.send({ type: "RESUME", since: first.last_event_id })
    await feed.waitFor(ofType("RESUMED"))
    expect(versionsOf(updates(feed))).toEqual([4, 4])

    feed.send({ type: "RESUME", since: second.last_event_id })
    await feed.waitFor((f) => f.type === "RESUMED" && f.since === second.last_event_id)
    expect(feed.frames.filter(ofType("RESUMED")).at(-1)).toMatchObject({ replayed: 0, version: 4 })
    await feed.close()
  })

  it("falls back to a fresh STATE_SYNC, not resumed, when the index no longer lists `since`", async () => {
    const sessionId = await createStarted()
    const first = await switchTurn(sessionId)
    for (let i = 0; i < 3; i++) await switchTurn(sessionId)
    const redis = new Redis(redisUrl, { protocol: 2 })
    const [indexKey] = await redis.keys(`${server.prefix}*index:${sessionId}`)
    await redis.zremrangebyrank(indexKey!, 0, -3)
    redis.disconnect()

    for (const since of [first.last_event_id, "1-0"]) {
      const feed = await openFeed(server.baseUrl, { sessionId, since })
      const sync = await feed.waitFor(ofType("STATE_SYNC"))
      expect(sync).toMatchObject({ resumed: false, version: 6 })
      expect(feed.frames.map((f) => f.type)).toEqual(["CONNECTED", "STATE_SYNC"])
      await feed.close()
    }
  })

  it("replays up to SESSION_DELETED, then closes, for a client resuming after the deletion", async () => {
    const sessionId = await createStarted()
    const { last_event_id: since } = await switchTurn(sessionId)
    expect((await call(server, "DELETE", `/v1/sessions/${sessionId}`)).status).toBe(204)
    const feed = await openFeed(server.baseUrl, { sessionId, since })
    expect(await feed.waitFor(ofType("SESSION_DELETED"))).toMatchObject({ event: { type: "SESSION_DELETED", version: 4 } })
    expect((await feed.closed).code).toBe(1000)
    expect(feed.frames.map((f) => f.type)).toEqual(["CONNECTED", "SESSION_DELETED"])
  })

  it("answers the v2 RECONNECT with a fresh STATE_SYNC", async () => {
    const sessionId = await createStarted()
    const feed = await syncedFeed(sessionId)
    await switchTurn(sessionId)
    feed.send({ type: "RECONNECT" })
    await feed.waitFor((f) => f.type === "STATE_SYNC" && f.version === 3)
    expect(feed.frames.map((f) => f.type)).toEqual(["CONNECTED", "STATE_SYNC", "STATE_UPDATE", "STATE_SYNC"])
    await feed.close()
  })
})

describe("live states", () => {
  /** What a state view says of the session itself, leaving out the times computed as of the server's now. */
  const stateOf = (view: any) => ({
    version: view.version,
    status: view.status,
    last_event_id: view.last_event_id,
    active_participant_id: view.active_participant_id,
    participants: view.participants.map((p: any) => ({
      participant_id: p.participant_id,
      total_time_ms: p.total_time_ms,
      cycle_count: p.cycle_count,
      is_active: p.is_active,
      has_expired: p.has_expired
    }))
  })

  it("folds each event committed on another instance into the state it pushes, as that instance answered it", async () => {
    const other = await startServer("ws-feed-other", { keyPrefix: server.prefix })
    try {
      const body = sessionBody("per_participant", 3)
      expect((await call(other, "POST", "/v1/sessions", body)).status).toBe(201)
      const feed = await syncedFeed(body.session_id)
      const answers: Array<any> = []
      for (const verb of ["start", "switch", "switch", "pause", "resume", "switch", "switch"]) {
        const reply = await call(other, "POST", `/v1/sessions/${body.session_id}/${verb}`)
        expect(reply.status).toBe(200)
        answers.push(reply.body.data)
      }
      await feed.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 8)
      expect(versionsOf(updates(feed))).toEqual([2, 3, 4, 5, 6, 7, 8])
      expect(updates(feed).map((f) => stateOf(f.state))).toEqual(answers.map(stateOf))
      await feed.close()
    } finally {
      await other.close()
    }
  })

  it("sends the whole state again, not a wrong one, when a log entry does not follow the version it holds", async () => {
    const sessionId = await createStarted()
    const feed = await syncedFeed(sessionId)
    const redis = new Redis(redisUrl, { protocol: 2 })
    try {
      const [indexKey] = await redis.keys(`${server.prefix}*index:${sessionId}`)
      const tag = indexKey!.slice(0, indexKey!.indexOf("index:"))
      const incarnation = await redis.hget(`${tag}snap:${sessionId}`, "c")
      // Version 4 while the session is at 2: version 3 never reached this instance.
      await redis.xadd(`${tag}log`, "*", "sid", sessionId, "v", "4", "t", "SESSION_PAUSED", "at", String(Date.now()), "p", "{}",
        "c", incarnation!, "d", "")
      // Not a commit's message: the reader reads the log, and finds the entry.
      await redis.spublish(`${tag}feed`, "wake up")
      await feed.waitFor(() => feed.frames.filter(ofType("STATE_SYNC")).length === 2)
      expect(feed.frames.filter(ofType("STATE_SYNC")).at(-1)).toMatchObject({ version: 2, resumed: false })
      expect(updates(feed)).toEqual([])

      // Live again from the state it was sent.
      await switchTurn(sessionId)
      await feed.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 3)
      expect(updates(feed).at(-1)?.state).toMatchObject({ version: 3, status: "running" })
      await feed.close()
    } finally {
      redis.disconnect()
    }
  })
})

describe("time sync", () => {
  it("answers PING with PONG on the server clock, echoing client_time", async () => {
    const sessionId = await createStarted()
    const feed = await syncedFeed(sessionId)
    const before = (await call(server, "GET", "/v1/time")).body.data.server_time_ms
    feed.send({ type: "PING", client_time: 1234.5 })
    const pong = await feed.waitFor(ofType("PONG"))
    const after = (await call(server, "GET", "/v1/time")).body.data.server_time_ms
    expect(pong).toMatchObject({ client_time: 1234.5, timestamp: pong.server_time })
    expect(pong.server_time).toBeGreaterThanOrEqual(before)
    expect(pong.server_time).toBeLessThanOrEqual(after)

    // A v2 PING carries no client time.
    feed.send({ type: "PING" })
    await feed.waitFor((f) => f.type === "PONG" && f.client_time === undefined)
    await feed.close()
  })
})

describe("connection health", () => {
  it("refuses bad frames with ERROR, and closes the socket after repeated abuse", async () => {
    const sessionId = await createStarted()
    const feed = await syncedFeed(sessionId)
    feed.send("not json")
    feed.send({ type: "DANCE" })
    await feed.waitFor(() => feed.frames.filter(ofType("ERROR")).length === 2)
    expect(feed.frames.filter(ofType("ERROR"))).toEqual([
      { type: "ERROR", code: "INVALID_MESSAGE", message: "the frame is not valid JSON" },
      { type: "ERROR", code: "INVALID_MESSAGE", message: "type must be PING, RESUME or RECONNECT" }
    ])
    feed.send({ type: "PING" }) // still served
    await feed.waitFor(ofType("PONG"))
    feed.send({ type: "RESUME", since: "bogus" })
    expect((await feed.closed).code).toBe(1008)
  })

  it("refuses frames over the size limit with 1009", async () => {
    const sessionId = await createStarted()
    const feed = await syncedFeed(sessionId)
    feed.send({ type: "PING", padding: "x".repeat(65_536) })
    expect((await feed.closed).code).toBe(1009)
  })

  it("closes a consumer that stops reading with 1013 once its send buffer passes the limit", async () => {
    // Big states (1,000 participants and large metadata) fill the kernel's socket buffers quickly.
    const sessionId = await createStarted({ metadata: { blob: "x".repeat(200_000) } }, 1000)
    const slow = await syncedFeed(sessionId)
    const healthy = await syncedFeed(sessionId)
    slow.socket.pause()
    let switches = 0
    while (!(await metricsText()).includes('synckairos_ws_closed_total{reason="slow_consumer"} 1')) {
      expect(++switches).toBeLessThan(200)
      await switchTurn(sessionId)
    }
    slow.socket.resume()
    expect((await slow.closed).code).toBe(1013)
    // The other client of the session is unaffected.
    await healthy.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 2 + switches)
    expect(healthy.socket.readyState).toBe(healthy.socket.OPEN)
    await healthy.close()
  })

  it("drops a peer that does not answer ping frames", async () => {
    const fast = await startServer("ws-feed", { wsPingIntervalMs: 200 })
    try {
      const body = sessionBody("per_participant", 2)
      await call(fast, "POST", "/v1/sessions", body)
      const dead = await openFeed(fast.baseUrl, { sessionId: body.session_id }, { autoPong: false })
      const alive = await openFeed(fast.baseUrl, { sessionId: body.session_id })
      expect((await dead.closed).code).toBe(1006)
      expect(alive.socket.readyState).toBe(alive.socket.OPEN)
      await alive.close()
    } finally {
      await fast.close()
    }
  })

  it("counts sockets, fanned-out events and their delivery lag at /metrics", async () => {
    const sessionId = await createStarted()
    const feeds = await Promise.all([1, 2].map(() => syncedFeed(sessionId)))
    const before = await metricsText()
    await switchTurn(sessionId)
    await Promise.all(feeds.map((f) => f.waitFor(ofType("STATE_UPDATE"))))
    const after = await metricsText()
    const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1])
    expect(value(after, "synckairos_ws_connected_sockets")).toBeGreaterThanOrEqual(2)
    expect(value(after, "synckairos_ws_events_fanned_out_total") - value(before, "synckairos_ws_events_fanned_out_total")).toBe(2)
    expect(value(after, "synckairos_ws_delivery_lag_seconds_count") - value(before, "synckairos_ws_delivery_lag_seconds_count")).toBe(2)
    expect(after).toContain("process_resident_memory_bytes")
    await Promise.all(feeds.map((f) => f.close()))
  })

  it("counts open file descriptors at /metrics, sockets included, and serves no per-handle scans", async () => {
    const sessionId = await createStarted()
    const value = (text: string) => Number(/^process_open_fds (\d+)$/m.exec(text)?.[1])
    const before = value(await metricsText())
    const feeds = await Promise.all(Array.from({ length: 10 }, () => syncedFeed(sessionId)))
    // Client and server ends of each socket live in this process.
    const after = await metricsText()
    expect(value(after)).toBeGreaterThanOrEqual(before + 20)
    expect(after).not.toMatch(/^nodejs_active_(handles|resources)/m)
    await Promise.all(feeds.map((f) => f.close()))
  })
})
