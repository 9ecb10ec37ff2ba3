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
  /**
   * With access control on: per session, the switch of each participant with its own participant
   * token, in turn order (the first participant holds the first turn).
   */
  readonly participantSwitchRequests: ReadonlyArray<readonly [RequestSpec, RequestSpec]> | null
}

/** Access control for the fixture: requests carry the API key; participants get their own tokens. */
export interface FixtureAuth {
  readonly apiKey: string
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

const bearer = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` })

/**
 * Creates and starts `count` sessions, `concurrency` at a time; throws on any unexpected answer. With
 * `auth`, every request carries the API key and each participant gets a participant token.
 */
export const createSessions = async (
  dispatcher: Dispatcher,
  count: number = SESSIONS,
  concurrency = 16,
  auth: FixtureAuth | null = null
): Promise<SessionFixture> => {
  const ids = Array.from({ length: count }, () => randomUUID())
  const key = auth === null ? {} : bearer(auth.apiKey)
  const tokens: Array<readonly [string, string]> = []
  let nextIndex = 0
  const worker = async () => {
    while (nextIndex < ids.length) {
      const index = nextIndex++
      const id = ids[index] as string
      const body = createSessionBody(id)
      await expectStatus(dispatcher, { method: "POST", path: "/v1/sessions", body: JSON.stringify(body), headers: { ...JSON_HEADERS, ...key } }, 201)
      await expectStatus(dispatcher, { method: "POST", path: `/v1/sessions/${id}/start`, headers: key }, 200)
      if (auth === null) continue
      const [first, second] = await Promise.all(body.participants.map(async ({ participant_id }) => {
        const minted = await expectStatus(dispatcher, {
          method: "POST",
          path: `/v1/sessions/${id}/tokens`,
          body: JSON.stringify({ role: "participant", participant_id }),
          headers: { ...JSON_HEADERS, ...key }
        }, 201) as { data: { token: string } }
        return minted.data.token
      }))
      tokens[index] = [first!, second!]
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  const switchOf = (id: string, credential: Record<string, string>): RequestSpec =>
    ({ method: "POST", path: `/v1/sessions/${id}/switch`, body: "{}", headers: { ...JSON_HEADERS, ...credential } })
  return {
    ids,
    switchRequests: ids.map((id) => switchOf(id, key)),
    getRequests: ids.map((id) => ({ method: "GET", path: `/v1/sessions/${id}`, headers: key })),
    switchesOk: new Uint32Array(count),
    participantSwitchRequests: auth === null
      ? null
      : ids.map((id, i) => [switchOf(id, bearer(tokens[i]![0])), switchOf(id, bearer(tokens[i]![1]))] as const)
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
