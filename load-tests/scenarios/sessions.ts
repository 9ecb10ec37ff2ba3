/**
 * The session fixture shared by the switch and read scenarios, and the mirror of `setup()` in
 * load-tests/switch.js: SESSIONS (200) sessions in per_participant mode with two participants of
 * 24 h each (nothing expires during a bench), each created then started, so that every switch is a
 * valid turn change.
 */
import { randomUUID } from "node:crypto"
import type { Dispatcher } from "undici"
import type { RequestSpec } from "../harness/request.ts"

export const SESSIONS = 200
export const DAY_MS = 86_400_000
export const JSON_HEADERS: Record<string, string> = { "content-type": "application/json" }

export interface SessionFixture {
  readonly ids: ReadonlyArray<string>
  /** `POST /v1/sessions/:id/switch` with body `{}`, one per session, built once. */
  readonly switchRequests: ReadonlyArray<RequestSpec>
  /** `GET /v1/sessions/:id`, one per session. */
  readonly getRequests: ReadonlyArray<RequestSpec>
  /** Successful switches per session index, counted by the scenarios, checked at the end. */
  readonly switchesOk: Uint32Array
}

export const createSessionBody = (sessionId: string) => ({
  session_id: sessionId,
  sync_mode: "per_participant",
  participants: [
    { participant_id: randomUUID(), total_time_ms: DAY_MS },
    { participant_id: randomUUID(), total_time_ms: DAY_MS }
  ],
  total_time_ms: DAY_MS
})

const expectStatus = async (
  dispatcher: Dispatcher,
  spec: RequestSpec,
  expected: number
): Promise<unknown> => {
  const response = await dispatcher.request({ method: spec.method, path: spec.path, body: spec.body, headers: spec.headers })
  const text = await response.body.text()
  if (response.statusCode !== expected) {
    throw new Error(`${spec.method} ${spec.path} answered ${response.statusCode}, expected ${expected}: ${text.slice(0, 500)}`)
  }
  return text.length > 0 ? JSON.parse(text) : null
}

/** Creates and starts `count` sessions, `concurrency` at a time; throws on any unexpected answer. */
export const createSessions = async (
  dispatcher: Dispatcher,
  count: number = SESSIONS,
  concurrency = 16
): Promise<SessionFixture> => {
  const ids = Array.from({ length: count }, () => randomUUID())
  let nextIndex = 0
  const worker = async () => {
    while (nextIndex < ids.length) {
      const id = ids[nextIndex++] as string
      await expectStatus(dispatcher, {
        method: "POST",
        path: "/v1/sessions",
        body: JSON.stringify(createSessionBody(id)),
        headers: JSON_HEADERS
      }, 201)
      await expectStatus(dispatcher, { method: "POST", path: `/v1/sessions/${id}/start` }, 200)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return {
    ids,
    switchRequests: ids.map((id) => ({ method: "POST", path: `/v1/sessions/${id}/switch`, body: "{}", headers: JSON_HEADERS })),
    getRequests: ids.map((id) => ({ method: "GET", path: `/v1/sessions/${id}` })),
    switchesOk: new Uint32Array(count)
  }
}

export interface VersionCheck {
  readonly sessions: number
  readonly mismatches: number
  /** Up to 10 sessions whose version is not 2 (create + start) + the switches answered 2xx. */
  readonly examples: ReadonlyArray<{ readonly sessionId: string; readonly expected: number; readonly actual: unknown }>
}

/**
 * Reads every session back and checks its version against the switches the bench saw succeed: a
 * lost or phantom update under concurrency would show here even when every request answered 2xx.
 */
export const checkVersions = async (dispatcher: Dispatcher, fixture: SessionFixture): Promise<VersionCheck> => {
  let mismatches = 0
  const examples: Array<{ sessionId: string; expected: number; actual: unknown }> = []
  for (let i = 0; i < fixture.ids.length; i++) {
    const spec = fixture.getRequests[i] as RequestSpec
    const answer = await expectStatus(dispatcher, spec, 200) as { data?: { version?: unknown } }
    const expected = 2 + (fixture.switchesOk[i] ?? 0)
    const actual = answer.data?.version
    if (actual !== expected) {
      mismatches++
      if (examples.length < 10) examples.push({ sessionId: fixture.ids[i] as string, expected, actual })
    }
  }
  return { sessions: fixture.ids.length, mismatches, examples }
}
