/**
 * The session fixture of the Node benches that send their own requests (the audit bench): SESSIONS
 * (200) sessions in per_participant mode with two participants of 24 h each (nothing expires during a
 * bench), each created then started, so that every switch is a valid turn change. The k6 scripts
 * create the same sessions in their setup() (load-tests/lib/sessions.js).
 */
import { randomUUID } from "node:crypto"
import type { Dispatcher } from "undici"
import type { RequestSpec } from "../harness/request.ts"

export const SESSIONS = 200
const DAY_MS = 86_400_000
export const JSON_HEADERS: Record<string, string> = { "content-type": "application/json" }

export interface SessionFixture {
  readonly ids: ReadonlyArray<string>
  /** `POST /v1/sessions/:id/switch` with body `{}`, one per session, built once. */
  readonly switchRequests: ReadonlyArray<RequestSpec>
}

const createSessionBody = (sessionId: string) => ({
  session_id: sessionId,
  sync_mode: "per_participant",
  participants: [
    { participant_id: randomUUID(), total_time_ms: DAY_MS },
    { participant_id: randomUUID(), total_time_ms: DAY_MS }
  ],
  total_time_ms: DAY_MS
})

const expectStatus = async (dispatcher: Dispatcher, spec: RequestSpec, expected: number): Promise<void> => {
  const response = await dispatcher.request({ method: spec.method, path: spec.path, body: spec.body, headers: spec.headers })
  const text = await response.body.text()
  if (response.statusCode !== expected) {
    throw new Error(`${spec.method} ${spec.path} answered ${response.statusCode}, expected ${expected}: ${text.slice(0, 500)}`)
  }
}

/** Creates and starts `count` sessions, `concurrency` at a time; throws on any unexpected answer. */
export const createSessions = async (dispatcher: Dispatcher, count: number = SESSIONS, concurrency = 16): Promise<SessionFixture> => {
  const ids = Array.from({ length: count }, () => randomUUID())
  let nextIndex = 0
  const worker = async () => {
    while (nextIndex < ids.length) {
      const id = ids[nextIndex++]!
      await expectStatus(dispatcher, { method: "POST", path: "/v1/sessions", body: JSON.stringify(createSessionBody(id)), headers: JSON_HEADERS }, 201)
      await expectStatus(dispatcher, { method: "POST", path: `/v1/sessions/${id}/start` }, 200)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return {
    ids,
    switchRequests: ids.map((id) => ({ method: "POST", path: `/v1/sessions/${id}/switch`, body: "{}", headers: JSON_HEADERS }))
  }
}
