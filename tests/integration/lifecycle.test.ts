/**
 * The full lifecycle of every sync mode through the HTTP API, on real Redis and real elapsed time.
 * Times are asserted within TOLERANCE of what the elapsed time implies.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, sessionBody, startServer, type TestServer, uuid } from "../support/app.ts"

const TOLERANCE = 120
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(TOLERANCE)

let server: TestServer
beforeAll(async () => {
  server = await startServer("lifecycle")
})
afterAll(() => server.close())

const create = async (body: Record<string, unknown>) => {
  const reply = await call(server, "POST", "/v1/sessions", body)
  expect(reply.status).toBe(201)
  return reply.body.data
}
const post = async (id: string, verb: string, body?: unknown) => call(server, "POST", `/v1/sessions/${id}/${verb}`, body)
const ok = async (id: string, verb: string, body?: unknown) => {
  const reply = await post(id, verb, body)
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
  return reply.body.data
}
const get = async (id: string) => (await call(server, "GET", `/v1/sessions/${id}`)).body.data

describe("per_participant", () => {
  it("charges each turn to the mover's bank, adds the increment, and freezes while paused", async () => {
    const body = sessionBody("per_participant", 2, { total_time_ms: 5_000, increment_ms: 1_000 })
    const [a, b] = body.participants.map((p) => p.participant_id)
    const created = await create(body)
    expect(created).toMatchObject({ status: "pending", version: 1, active_participant_id: null, increment_ms: 1_000 })

    const started = await ok(body.session_id, "start")
    expect(started).toMatchObject({ status: "running", version: 2, active_participant_id: a })
    await sleep(300)
    const switched = await ok(body.session_id, "switch")
    const used = switched.participants[0].time_used_ms
    near(used, 300)
    expect(switched).toMatchObject({ version: 3, active_participant_id: b })
    expect(switched.participants[0]).toMatchObject({ cycle_count: 1, total_time_ms: 5_000 - used + 1_000, time_remaining_ms: 5_000 - used + 1_000 })
    expect(switched.expired_participant_id).toBeUndefined()

    await sleep(200)
    const paused = await ok(body.session_id, "pause")
    expect(paused.status).toBe("paused")
    near(paused.participants[1].time_used_ms, 200)
    const frozen = paused.participants[1].time_remaining_ms
    await sleep(250)
    expect((await get(body.session_id)).participants[1].time_remaining_ms).toBe(frozen)

    const resumed = await ok(body.session_id, "resume")
    expect(resumed.cycle_started_at).toBe(new Date(resumed.server_time_ms).toISOString())
    await sleep(200)
    const live = await get(body.session_id)
    near(live.participants[1].time_remaining_ms, frozen - 200)
    expect(live.time_remaining_ms).toBe(live.participants[1].time_remaining_ms)
    // Remaining time is computed at server_time_ms from the segment start, never frozen at the last command.
    expect(live.participants[1].time_remaining_ms).toBe(
      live.participants[1].total_time_ms - (live.server_time_ms - Date.parse(live.cycle_started_at))
    )

    const completed = await ok(body.session_id, "complete")
    expect(completed).toMatchObject({ status: "completed", active_participant_id: null, cycle_started_at: null })
    expect(completed.session_completed_at).not.toBeNull()
    expect((await post(body.session_id, "switch")).body.error.code).toBe("INVALID_STATE_TRANSITION")
  })

  it("ends the session when the active clock has run out by the next switch", async () => {
    const body = sessionBody("per_participant", 2, { total_time_ms: 1_000 })
    const [a] = body.participants.map((p) => p.participant_id)
    await create(body)
    const started = await ok(body.session_id, "start")
    await sleep(1_150)
    const late = await ok(body.session_id, "switch")
    expect(late).toMatchObject({ status: "expired", expired_participant_id: a, active_participant_id: null })
    expect(late.participants[0]).toMatchObject({ has_expired: true, time_remaining_ms: 0, time_used_ms: 1_000 })
    // The expiry is dated at the deadline, not when the switch noticed it.
    expect(Date.parse(late.session_completed_at)).toBe(Date.parse(started.cycle_started_at) + 1_000)
  })
})

describe("per_cycle", () => {
  it("gives every turn a fresh cycle and skips a participant whose cycle ran out", async () => {
    const body = sessionBody("per_cycle", 3, { time_per_cycle_ms: 1_000 })
    const [a, b, c] = body.participants.map((p) => p.participant_id)
    await create(body)
    await ok(body.session_id, "start")
    await sleep(400)
    const first = await ok(body.session_id, "switch")
    expect(first.active_participant_id).toBe(b)
    expect(first.participants[1]).toMatchObject({ total_time_ms: 1_000, time_remaining_ms: 1_000 })
    near(first.participants[0].time_used_ms, 400)

    await sleep(1_150)
    const skipped = await ok(body.session_id, "switch")
    // b ran out at its deadline: marked expired, the turn went to c at that instant, and the late
    // switch did not pass it on again.
    expect(skipped).toMatchObject({ status: "running", expired_participant_id: b, active_participant_id: c })
    expect(skipped.participants[1].has_expired).toBe(true)
    expect(Date.parse(skipped.cycle_started_at)).toBe(Date.parse(first.cycle_started_at) + 1_000)

    const next = await ok(body.session_id, "switch")
    expect(next.active_participant_id).toBe(a)
    const back = await ok(body.session_id, "switch")
    expect(back.active_participant_id).toBe(c) // b is skipped for good
    const refused = await post(body.session_id, "switch", { next_participant_id: b })
    expect(refused.status).toBe(400)
    expect(refused.body.error.details[0].field).toBe("next_participant_id")
  })
})

describe("per_group", () => {
  it("runs one bank per group, shared by its members", async () => {
    const [g1, g2] = [uuid(), uuid()]
    const body = sessionBody("per_group", 4, { total_time_ms: 5_000 })
    body.participants.forEach((p, i) => Object.assign(p, { group_id: i % 2 === 0 ? g1 : g2 }))
    await create(body)
    await ok(body.session_id, "start")
    await sleep(300)
    const afterA = await ok(body.session_id, "switch") // a (g1) → b (g2)
    const g1Left = afterA.participants[0].time_remaining_ms
    near(5_000 - g1Left, 300)
    expect(afterA.participants[2].time_remaining_ms).toBe(g1Left) // c shares g1's bank
    await sleep(200)
    const afterB = await ok(body.session_id, "switch") // b (g2) → c (g1)
    near(5_000 - afterB.participants[1].time_remaining_ms, 200)
    expect(afterB.participants[3].time_remaining_ms).toBe(afterB.participants[1].time_remaining_ms)
    expect(afterB.participants[2]).toMatchObject({ is_active: true, total_time_ms: g1Left })
  })
})

describe("global", () => {
  it("runs one session clock whoever is active, and expires it", async () => {
    const body = sessionBody("global", 2, { total_time_ms: 1_500 })
    const b = body.participants[1]!.participant_id
    await create(body)
    await ok(body.session_id, "start")
    await sleep(500)
    const switched = await ok(body.session_id, "switch")
    expect(switched.active_participant_id).toBe(b)
    near(switched.time_remaining_ms, 1_000)
    near(switched.participants[0].time_used_ms, 500)
    await sleep(1_100)
    const late = await ok(body.session_id, "switch")
    expect(late).toMatchObject({ status: "expired", expired_participant_id: b })
    expect(late.participants.map((p: { time_remaining_ms: number }) => p.time_remaining_ms)).toEqual([0, 0])
    expect(late.participants[0].has_expired).toBe(false)
  })
})

describe("count_up", () => {
  it("counts up across turns and stops at max_time_ms", async () => {
    const body = sessionBody("count_up", 2, { max_time_ms: 1_500 })
    await create(body)
    await ok(body.session_id, "start")
    await sleep(400)
    const switched = await ok(body.session_id, "switch")
    near(switched.elapsed_ms, 400)
    expect(switched.max_time_ms).toBe(1_500)
    await sleep(300)
    near((await get(body.session_id)).elapsed_ms, 700)
    const paused = await ok(body.session_id, "pause")
    await sleep(300)
    expect((await get(body.session_id)).elapsed_ms).toBe(paused.elapsed_ms)
    await ok(body.session_id, "resume")
    await sleep(1_000)
    const capped = await ok(body.session_id, "switch")
    expect(capped).toMatchObject({ status: "expired", elapsed_ms: 1_500 })
  })
})

describe("cancel and delete", () => {
  it("cancels from any live status and deletes from any status", async () => {
    const body = sessionBody("global", 1)
    await create(body)
    const cancelled = await ok(body.session_id, "cancel")
    expect(cancelled.status).toBe("cancelled")
    expect((await post(body.session_id, "cancel")).status).toBe(400)
    const deleted = await call(server, "DELETE", `/v1/sessions/${body.session_id}`)
    expect(deleted.status).toBe(204)
    expect((await call(server, "GET", `/v1/sessions/${body.session_id}`)).status).toBe(404)
    // Idempotent: deleting what is gone answers 204 too (the v2 contract).
    expect((await call(server, "DELETE", `/v1/sessions/${body.session_id}`)).status).toBe(204)
    // The id is free again, with a clean history.
    expect((await call(server, "POST", "/v1/sessions", body)).body.data.version).toBe(1)
  })
})
