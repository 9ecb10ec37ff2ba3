/**
 * Concurrency on real Redis with two instances sharing it: commands for one session from parallel
 * clients serialize without gaps, pinned versions answer 409, idempotent retries write nothing.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { call, sessionBody, startServer, type TestServer } from "../support/app.ts"
import { redisUrl } from "../support/redis.ts"
import { storeReader } from "../support/store.ts"

let a: TestServer
let b: TestServer
let store: ReturnType<typeof storeReader>
beforeAll(async () => {
  a = await startServer("concurrency")
  // The second instance shares the first one's keys: a separate process in all but the PID.
  b = await startServer("concurrency", { keyPrefix: a.prefix })
  store = storeReader(a.prefix)
})
afterAll(async () => {
  await store.close()
  await b.close()
  await a.close()
})

const running = async (server: TestServer, participants = 3) => {
  const body = sessionBody("per_participant", participants, { total_time_ms: 3_600_000 })
  expect((await call(server, "POST", "/v1/sessions", body)).status).toBe(201)
  expect((await call(server, "POST", `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
  return body.session_id
}

describe("200 concurrent switches on one session", () => {
  it("are all applied, one event each, versions 1..n without gaps, snapshot equal to the replay", async () => {
    const id = await running(a)
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => call(i % 2 === 0 ? a : b, "POST", `/v1/sessions/${id}/switch`, {}))
    )
    expect(replies.map((r) => r.status)).toEqual(Array(200).fill(200))
    const versions = replies.map((r) => r.body.data.version as number).sort((x, y) => x - y)
    expect(versions).toEqual(Array.from({ length: 200 }, (_, i) => i + 3))

    const stored = await store.read(id)
    expect(stored.version).toBe(202)
    expect(stored.events.map((e) => e.version)).toEqual(Array.from({ length: 202 }, (_, i) => i + 1))
    expect(stored.events.filter((e) => e.type === "CYCLE_SWITCHED")).toHaveLength(200)
    expect(stored.replayed).toEqual(stored.snapshot)
    const turns = stored.snapshot!.participants.reduce((sum, p) => sum + p.cycleCount, 0)
    expect(turns).toBe(200)
  })
})

describe("commands taking turns between instances", () => {
  // Each instance decides on the snapshot it holds when it can; these check it never decides on one
  // that the other instance has since moved past.
  it("each decide on the other's last commit: the turn passes on every switch", async () => {
    const body = sessionBody("per_participant", 3, { total_time_ms: 3_600_000 })
    const order = body.participants.map((p) => p.participant_id)
    const id = body.session_id
    expect((await call(a, "POST", "/v1/sessions", body)).status).toBe(201)
    expect((await call(b, "POST", `/v1/sessions/${id}/start`)).status).toBe(200)
    for (let n = 1; n <= 30; n++) {
      const reply = await call(n % 2 === 0 ? a : b, "POST", `/v1/sessions/${id}/switch`, {})
      expect(reply.status).toBe(200)
      expect(reply.body.data).toMatchObject({ version: n + 2, active_participant_id: order[n % 3] })
    }
    const stored = await store.read(id)
    expect(stored.replayed).toEqual(stored.snapshot)
  })

  it("a session deleted and created again elsewhere under the same id is decided on its new state", async () => {
    const first = sessionBody("per_participant", 3, { total_time_ms: 3_600_000 })
    const id = first.session_id
    expect((await call(a, "POST", "/v1/sessions", first)).status).toBe(201)
    expect((await call(a, "POST", `/v1/sessions/${id}/start`)).status).toBe(200)
    expect((await call(a, "POST", `/v1/sessions/${id}/switch`, {})).status).toBe(200)

    // The same three steps on b leave the new session at the version a last committed.
    const second = { ...sessionBody("per_participant", 2, { total_time_ms: 3_600_000 }), session_id: id }
    expect((await call(b, "DELETE", `/v1/sessions/${id}`)).status).toBe(204)
    expect((await call(b, "POST", "/v1/sessions", second)).status).toBe(201)
    expect((await call(b, "POST", `/v1/sessions/${id}/start`)).status).toBe(200)
    expect((await call(b, "POST", `/v1/sessions/${id}/switch`, {})).status).toBe(200)

    const reply = await call(a, "POST", `/v1/sessions/${id}/switch`, {})
    expect(reply.status).toBe(200)
    expect(reply.body.data).toMatchObject({ version: 4, active_participant_id: second.participants[0]!.participant_id })
    const stored = await store.read(id)
    expect(stored.snapshot!.participants.map((p) => p.participantId)).toEqual(second.participants.map((p) => p.participant_id))
  })
})

describe("a pinned version", () => {
  it("applies when current and answers 409 CONFLICT with the current version when stale", async () => {
    const id = await running(a)
    const current = await call(a, "GET", `/v1/sessions/${id}`)
    expect(current.headers.get("etag")).toBe('"2"')
    const applied = await call(a, "POST", `/v1/sessions/${id}/switch`, {}, { "if-match": '"2"' })
    expect(applied.status).toBe(200)
    const stale = await call(b, "POST", `/v1/sessions/${id}/switch`, {}, { "if-match": '"2"' })
    expect(stale.status).toBe(409)
    expect(stale.body.error).toMatchObject({ code: "CONFLICT", details: { expected_version: 2, current_version: 3 } })
    const inBody = await call(b, "POST", `/v1/sessions/${id}/pause`, { expected_version: 2 })
    expect(inBody.status).toBe(409)
    expect((await store.read(id)).version).toBe(3)
  })

  it("lets exactly one of many racers with the same pinned version win", async () => {
    const id = await running(a)
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(i % 2 === 0 ? a : b, "POST", `/v1/sessions/${id}/switch`, { expected_version: 2 }))
    )
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1)
    expect(replies.filter((r) => r.status === 409)).toHaveLength(19)
    expect((await store.read(id)).version).toBe(3)
  })
})

describe("Idempotency-Key", () => {
  it("returns the first answer to a retry without writing a second event", async () => {
    const id = await running(a)
    const headers = { "idempotency-key": "switch-1" }
    const first = await call(a, "POST", `/v1/sessions/${id}/switch`, {}, headers)
    const retry = await call(b, "POST", `/v1/sessions/${id}/switch`, {}, headers)
    expect(first.status).toBe(200)
    expect(retry.status).toBe(200)
    expect(retry.body).toEqual(first.body)
    const stored = await store.read(id)
    expect(stored.version).toBe(3)
    expect(stored.events).toHaveLength(3)
    expect(first.body.data.last_event_id).toBe(stored.events[2]!.id)
  })

  it("answers concurrent retries once", async () => {
    const id = await running(a)
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(i % 2 === 0 ? a : b, "POST", `/v1/sessions/${id}/switch`, {}, { "idempotency-key": "k" }))
    )
    expect(new Set(replies.map((r) => JSON.stringify(r.body))).size).toBe(1)
    expect((await store.read(id)).version).toBe(3)
  })

  it("makes a retried create answer 201 with the same body", async () => {
    const body = sessionBody("global", 2)
    const headers = { "idempotency-key": "create-1" }
    const first = await call(a, "POST", "/v1/sessions", body, headers)
    const retry = await call(b, "POST", "/v1/sessions", body, headers)
    expect([first.status, retry.status]).toEqual([201, 201])
    expect(retry.body).toEqual(first.body)
    const plain = await call(a, "POST", "/v1/sessions", body)
    expect(plain.body.error.code).toBe("SESSION_EXISTS")
  })

  it("refuses a key reused for a different request with 422 and writes nothing", async () => {
    const id = await running(a)
    const headers = { "idempotency-key": "reused" }
    expect((await call(a, "POST", `/v1/sessions/${id}/switch`, {}, headers)).status).toBe(200)
    const other = await call(a, "POST", `/v1/sessions/${id}/pause`, {}, headers)
    expect(other.status).toBe(422)
    expect(other.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED")
    expect((await store.read(id)).version).toBe(3)
  })

  it("answers a retry whose first answer an earlier release recorded with 409, applying nothing again", async () => {
    const id = await running(a)
    const headers = { "idempotency-key": "from-an-earlier-release" }
    expect((await call(a, "POST", `/v1/sessions/${id}/switch`, {}, headers)).status).toBe(200)
    // Earlier releases kept the HTTP body of the first answer.
    const redis = new Redis(redisUrl)
    const record = makeKeySchema({ keyPrefix: a.prefix, shardCount: 16 }).session(id).idempotency(headers["idempotency-key"])
    await redis.hset(record, "b", JSON.stringify({ session_id: id, status: "running", version: 3 }))
    redis.disconnect()
    const retry = await call(b, "POST", `/v1/sessions/${id}/switch`, {}, headers)
    expect(retry.status).toBe(409)
    expect(retry.body.error.code).toBe("IDEMPOTENCY_RECORD_UNREADABLE")
    expect((await store.read(id)).version).toBe(3)
  })
})
