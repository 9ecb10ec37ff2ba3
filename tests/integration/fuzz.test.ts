/**
 * Arbitrary requests against the running server: whatever arrives, the answer is never a 5xx, and a
 * refused request leaves Redis exactly as it was.
 */
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, sessionBody, startServer, type TestServer } from "../support/app.ts"
import { keysWithPrefix } from "../support/redis.ts"

let server: TestServer
let sessionId: string
beforeAll(async () => {
  server = await startServer("fuzz")
  const body = sessionBody("per_participant", 3, { total_time_ms: 3_600_000 })
  sessionId = body.session_id
  await call(server, "POST", "/v1/sessions", body)
  await call(server, "POST", `/v1/sessions/${sessionId}/start`)
})
afterAll(() => server.close())

const anyValue = fc.oneof(fc.anything(), fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.uuid())

/** A valid create body with some fields replaced by anything, removed, or added. */
const mutatedCreate = fc.record({
  replace: fc.dictionary(fc.constantFrom("session_id", "sync_mode", "participants", "total_time_ms", "time_per_cycle_ms", "increment_ms", "max_time_ms", "action_on_timeout", "auto_advance", "metadata"), anyValue),
  remove: fc.subarray(["session_id", "sync_mode", "participants", "total_time_ms"]),
  participant: fc.option(fc.dictionary(fc.constantFrom("participant_id", "participant_index", "total_time_ms", "group_id", "extra"), anyValue)),
  mode: fc.constantFrom("per_participant", "per_cycle", "per_group", "global", "count_up")
}).map(({ replace, remove, participant, mode }) => {
  const body: Record<string, unknown> = { ...sessionBody(mode), ...replace }
  for (const key of remove) delete body[key]
  if (participant !== null && Array.isArray(body["participants"])) body["participants"] = [...body["participants"], participant]
  return body
})

const rawBody = fc.oneof(
  fc.string().map((s) => ({ raw: s })),
  fc.json().map((s) => ({ raw: s })),
  anyValue.map((v) => ({ raw: JSON.stringify(v) ?? "" }))
)

const headers = fc.record({
  "if-match": fc.option(fc.oneof(fc.string(), fc.nat().map((n) => `"${n}"`)), { nil: undefined }),
  "idempotency-key": fc.option(fc.string({ maxLength: 300 }), { nil: undefined })
}, { requiredKeys: [] })

const cleanHeaders = (h: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined && /^[\x20-\x7e]*$/.test(e[1])))

/** Runs one request and checks the invariant: no 5xx, and a 4xx writes nothing. */
const probe = async (method: string, path: string, body: unknown, h: Record<string, string | undefined>) => {
  const before = await keysWithPrefix(server.prefix)
  const raw = typeof body === "object" && body !== null && "raw" in body ? (body as { raw: string }).raw : JSON.stringify(body)
  const reply = await call(server, method, path, raw, cleanHeaders(h))
  expect(reply.status, `${method} ${path} ${raw.slice(0, 200)} → ${JSON.stringify(reply.body)}`).toBeLessThan(500)
  if (reply.status >= 400) {
    expect(reply.body.error.code).toMatch(/^[A-Z_]+$/)
    expect(await keysWithPrefix(server.prefix)).toEqual(before)
  }
}

describe("fuzzing the running server", () => {
  it("never answers 5xx to a create and never half-applies one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedCreate, rawBody), headers, (body, h) => probe("POST", "/v1/sessions", body, h)),
      { numRuns: 250 }
    )
  })

  it("never answers 5xx to a command and never half-applies one", async () => {
    const verb = fc.constantFrom("start", "switch", "pause", "resume", "complete", "cancel")
    const target = fc.oneof(fc.constant(sessionId), fc.uuid(), fc.string({ maxLength: 40 }).map(encodeURIComponent))
    const body = fc.oneof(rawBody, fc.record({ next_participant_id: anyValue, expected_version: anyValue }, { requiredKeys: [] }))
    await fc.assert(
      fc.asyncProperty(verb, target, body, headers, (v, id, b, h) => probe("POST", `/v1/sessions/${id}/${v}`, b, h)),
      { numRuns: 250 }
    )
  })
})
