/** Every kind of bad input gets its 4xx with a code and field-level details, and writes nothing. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, sessionBody, startServer, type TestServer, uuid } from "../support/app.ts"
import { keysWithPrefix } from "../support/redis.ts"

let server: TestServer
let runningId: string
let participants: Array<string>
beforeAll(async () => {
  server = await startServer("bad-input")
  const body = sessionBody("per_participant", 2)
  runningId = body.session_id
  participants = body.participants.map((p) => p.participant_id)
  await call(server, "POST", "/v1/sessions", body)
  await call(server, "POST", `/v1/sessions/${runningId}/start`)
})
afterAll(() => server.close())

/** Sends the request and checks the answer and that Redis is exactly as before. */
const rejects = async (
  request: { method?: string; path: string; body?: unknown; headers?: Record<string, string> },
  expected: { status: number; code: string; field?: string }
) => {
  const before = await keysWithPrefix(server.prefix)
  const reply = await call(server, request.method ?? "POST", request.path, request.body, request.headers)
  expect(reply.status, JSON.stringify(reply.body)).toBe(expected.status)
  expect(reply.body.error.code).toBe(expected.code)
  expect(typeof reply.body.error.message).toBe("string")
  if (expected.field !== undefined) {
    expect(reply.body.error.details.map((d: { field: string }) => d.field)).toContain(expected.field)
  }
  expect(await keysWithPrefix(server.prefix)).toEqual(before)
  return reply.body.error
}

const create = (patch: Record<string, unknown>) => ({ path: "/v1/sessions", body: { ...sessionBody("per_participant"), ...patch } })

describe("create", () => {
  it.each([
    ["malformed JSON", { path: "/v1/sessions", body: "{\"session_id\": " }, "body"],
    ["a JSON array", { path: "/v1/sessions", body: [] }, "body"],
    ["a missing field", { path: "/v1/sessions", body: { sync_mode: "global" } }, "session_id"],
    ["a wrong type", create({ total_time_ms: "60000" }), "total_time_ms"],
    ["a fractional time", create({ total_time_ms: 1500.5 }), "total_time_ms"],
    ["an unknown field", create({ colour: "blue" }), "colour"],
    ["an unknown mode", create({ sync_mode: "per_planet" }), "sync_mode"],
    ["a non-UUID session id", create({ session_id: "session-1" }), "session_id"],
    ["a non-UUID participant id", create({ participants: [{ participant_id: "p1" }] }), "participants[0].participant_id"],
    ["a time under 1 s", create({ total_time_ms: 999 }), "total_time_ms"],
    ["a time over 24 h", create({ total_time_ms: 86_400_001 }), "total_time_ms"],
    ["a participant time under 1 s", create({ participants: [{ participant_id: uuid(), total_time_ms: 10 }] }), "participants[0].total_time_ms"],
    ["no participants", create({ participants: [] }), "participants"],
    ["more than 1,000 participants", create({ participants: Array.from({ length: 1_001 }, () => ({ participant_id: uuid() })) }), "participants"],
    ["an unknown participant field", create({ participants: [{ participant_id: uuid(), name: "x" }] }), "participants[0].name"],
    ["a negative increment", create({ increment_ms: -1 }), "increment_ms"]
  ])("refuses %s with 400 VALIDATION_ERROR", async (_name, request, field) => {
    await rejects(request, { status: 400, code: "VALIDATION_ERROR", field })
  })

  it("refuses duplicate participant ids and indexes, naming each duplicate", async () => {
    const p = uuid()
    await rejects(create({ participants: [{ participant_id: p }, { participant_id: p }] }), {
      status: 400,
      code: "VALIDATION_ERROR",
      field: "participants[1].participant_id"
    })
    await rejects(create({ participants: [{ participant_id: uuid(), participant_index: 3 }, { participant_id: uuid(), participant_index: 3 }] }), {
      status: 400,
      code: "VALIDATION_ERROR",
      field: "participants[1].participant_index"
    })
  })

  it("refuses options that do not fit the mode", async () => {
    await rejects(create({ sync_mode: "per_cycle" }), { status: 400, code: "VALIDATION_ERROR", field: "time_per_cycle_ms" })
    await rejects(create({ sync_mode: "global", time_per_cycle_ms: 5_000 }), { status: 400, code: "VALIDATION_ERROR", field: "time_per_cycle_ms" })
    await rejects(create({ sync_mode: "per_group" }), { status: 400, code: "VALIDATION_ERROR", field: "participants[0].group_id" })
    await rejects(create({ sync_mode: "global", increment_ms: 1_000 }), { status: 400, code: "VALIDATION_ERROR", field: "increment_ms" })
    await rejects(create({ max_time_ms: 5_000 }), { status: 400, code: "VALIDATION_ERROR", field: "max_time_ms" })
  })

  it("refuses a body over 1 MiB with 413", async () => {
    const body = { ...sessionBody("global"), metadata: { blob: "x".repeat(1_100_000) } }
    await rejects({ path: "/v1/sessions", body }, { status: 413, code: "VALIDATION_ERROR" })
  })

  it("refuses a body that is not JSON with 415", async () => {
    await rejects({ path: "/v1/sessions", body: "session", headers: { "content-type": "application/xml" } }, { status: 415, code: "VALIDATION_ERROR" })
  })

  it("answers SESSION_EXISTS for an id in use", async () => {
    await rejects(create({ session_id: runningId }), { status: 409, code: "SESSION_EXISTS" })
  })
})

describe("commands", () => {
  it("refuse a non-UUID session id in the path", async () => {
    await rejects({ path: "/v1/sessions/abc/switch", body: {} }, { status: 400, code: "VALIDATION_ERROR", field: "id" })
    await rejects({ method: "GET", path: "/v1/sessions/abc" }, { status: 400, code: "VALIDATION_ERROR", field: "id" })
  })

  it("answer SESSION_NOT_FOUND for an unknown session", async () => {
    await rejects({ path: `/v1/sessions/${uuid()}/switch`, body: {} }, { status: 404, code: "SESSION_NOT_FOUND" })
    // DELETE is idempotent (the v2 contract): 204 for an unknown session, and nothing written.
    const before = await keysWithPrefix(server.prefix)
    expect((await call(server, "DELETE", `/v1/sessions/${uuid()}`)).status).toBe(204)
    expect(await keysWithPrefix(server.prefix)).toEqual(before)
  })

  it("refuse a switch to a participant not in the session", async () => {
    await rejects({ path: `/v1/sessions/${runningId}/switch`, body: { next_participant_id: uuid() } }, {
      status: 400,
      code: "VALIDATION_ERROR",
      field: "next_participant_id"
    })
  })

  it("refuse unknown body fields and wrong types", async () => {
    await rejects({ path: `/v1/sessions/${runningId}/switch`, body: { next: participants[1] } }, { status: 400, code: "VALIDATION_ERROR", field: "next" })
    await rejects({ path: `/v1/sessions/${runningId}/pause`, body: { expected_version: "2" } }, { status: 400, code: "VALIDATION_ERROR", field: "expected_version" })
  })

  it("refuse commands in the wrong status with INVALID_STATE_TRANSITION", async () => {
    const error = await rejects({ path: `/v1/sessions/${runningId}/start` }, { status: 400, code: "INVALID_STATE_TRANSITION" })
    expect(error.details.status).toBe("running")
    await rejects({ path: `/v1/sessions/${runningId}/resume` }, { status: 400, code: "INVALID_STATE_TRANSITION" })
  })

  it("refuse malformed If-Match and Idempotency-Key headers", async () => {
    await rejects({ path: `/v1/sessions/${runningId}/switch`, body: {}, headers: { "if-match": "latest" } }, {
      status: 400,
      code: "VALIDATION_ERROR",
      field: "If-Match"
    })
    await rejects({ path: `/v1/sessions/${runningId}/switch`, body: {}, headers: { "if-match": '"4"' }, }, { status: 409, code: "CONFLICT" })
    await rejects({ path: `/v1/sessions/${runningId}/switch`, body: { expected_version: 2 }, headers: { "if-match": '"3"' } }, {
      status: 400,
      code: "VALIDATION_ERROR",
      field: "If-Match"
    })
    await rejects({ path: `/v1/sessions/${runningId}/switch`, body: {}, headers: { "idempotency-key": "x".repeat(300) } }, {
      status: 400,
      code: "VALIDATION_ERROR",
      field: "Idempotency-Key"
    })
  })

  it("answer 404 NOT_FOUND for an unknown route", async () => {
    await rejects({ path: `/v1/sessions/${runningId}/explode` }, { status: 404, code: "NOT_FOUND" })
  })
})
