/** Credentials for access-control tests: two API keys, a token secret, and calls that carry them. */
import { type AppSettings } from "../../src/app/AppConfig.ts"
import { call, type Reply, sessionBody, type TestServer } from "./app.ts"

export const API_KEY = "test-api-key-0123456789abcdef"
export const OTHER_API_KEY = "test-api-key-fedcba9876543210"
export const TOKEN_SECRET = "test-token-secret-0123456789abcdef0123"

/** Auth on, with limits high enough that only the rate-limit tests meet them. */
export const authOn = (overrides: Partial<AppSettings> = {}): Partial<AppSettings> => ({
  apiKeys: [API_KEY, OTHER_API_KEY],
  tokenSecret: TOKEN_SECRET,
  rateLimitTokenRps: 100_000,
  ...overrides
})

export const bearer = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` })

/** One call with a credential. */
export const callAs = <T = any>(credential: string, server: TestServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> =>
  call<T>(server, method, path, body, { ...bearer(credential), ...headers })

/** A running per_participant session created with the API key; its participant ids in turn order. */
export const runningSession = async (server: TestServer, participants = 2) => {
  const body = sessionBody("per_participant", participants, { total_time_ms: 3_600_000 })
  const created = await callAs(API_KEY, server, "POST", "/v1/sessions", body)
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`)
  const started = await callAs(API_KEY, server, "POST", `/v1/sessions/${body.session_id}/start`)
  if (started.status !== 200) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`)
  return { id: body.session_id, participants: body.participants.map((p) => p.participant_id) }
}

/** A token minted through the API with the API key. */
export const mint = async (server: TestServer, sessionId: string, grant: Record<string, unknown>): Promise<string> => {
  const reply = await callAs(API_KEY, server, "POST", `/v1/sessions/${sessionId}/tokens`, grant)
  if (reply.status !== 201) throw new Error(`mint: ${reply.status} ${JSON.stringify(reply.body)}`)
  return reply.body.data.token as string
}
