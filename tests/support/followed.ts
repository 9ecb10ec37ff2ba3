/** A session driven with switches while clients follow it live: what a fault must not break for them. */
import { expect } from "vitest"
import { post } from "./instances.ts"
import { uuid } from "./app.ts"
import { trackSession, type TrackedClient } from "./ws.ts"

export interface FollowedSession {
  readonly sessionId: string
  readonly clients: ReadonlyArray<TrackedClient>
  /** Stops switching; resolves with the statuses of every switch answered. */
  readonly stop: () => Promise<Array<number>>
}

/**
 * Creates and starts a session through `baseUrls()[0]`, opens `clients` feeds on it (on the instances
 * in turn), and switches it every `everyMs` through any instance that `baseUrls()` offers.
 */
export const followSession = async (baseUrls: () => ReadonlyArray<string>, clients = 2, everyMs = 100): Promise<FollowedSession> => {
  const sessionId = uuid()
  const first = baseUrls()[0]!
  const body = { session_id: sessionId, sync_mode: "per_participant", total_time_ms: 3_600_000, participants: [{ participant_id: uuid() }, { participant_id: uuid() }] }
  expect((await post(first, "/v1/sessions", body)).status).toBe(201)
  expect((await post(first, `/v1/sessions/${sessionId}/start`)).status).toBe(200)
  const tracked = await Promise.all(Array.from({ length: clients }, (_, i) => trackSession(baseUrls()[i % baseUrls().length]!, sessionId, baseUrls)))
  const statuses: Array<number> = []
  let running = true
  const driving = (async () => {
    for (let n = 0; running; n++) {
      const urls = baseUrls()
      statuses.push(await post(urls[n % urls.length]!, `/v1/sessions/${sessionId}/switch`).then(async (r) => (await r.arrayBuffer(), r.status), () => 0))
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return {
    sessionId,
    clients: tracked,
    stop: async () => {
      running = false
      await driving
      return statuses
    }
  }
}

/** Every client saw every version after the one it started from, once and in order, up to `version`. */
export const expectNoGapNoRepeat = async (clients: ReadonlyArray<TrackedClient>, version: number) => {
  const deadline = Date.now() + 15_000
  while (clients.some((c) => c.lastVersion() < version) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  for (const client of clients) {
    const expected = Array.from({ length: version - client.baseVersion() }, (_, i) => client.baseVersion() + i + 1)
    expect(client.versions).toEqual(expected)
  }
}
