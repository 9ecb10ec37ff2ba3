/**
 * Audit test support: random sessions driven through the real HTTP API, and the check that the
 * PostgreSQL audit holds exactly the events the sessions' Redis indexes list.
 */
import type { Layer } from "effect"
import { expect } from "vitest"
import type { RedisClient, RedisUnavailable } from "../../src/infra/RedisClient.ts"
import { uuid } from "./app.ts"
import { auditReader } from "./postgres.ts"
import { storeReader } from "./store.ts"

const MODES = ["per_participant", "per_cycle", "per_group", "global", "count_up"] as const
const HOUR_MS = 3_600_000

const createBody = (sessionId: string, mode: (typeof MODES)[number]) => {
  const groups = [uuid(), uuid()]
  return {
    session_id: sessionId,
    sync_mode: mode,
    total_time_ms: HOUR_MS,
    ...(mode === "per_cycle" ? { time_per_cycle_ms: HOUR_MS } : {}),
    participants: Array.from({ length: 2 + Math.floor(Math.random() * 3) }, (_, i) => ({
      participant_id: uuid(),
      ...(mode === "per_group" ? { group_id: groups[i % 2] } : {})
    }))
  }
}

const post = async (baseUrl: string, path: string, body?: unknown): Promise<number> => {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  await response.arrayBuffer()
  return response.status
}

const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(Math.random() * items.length)]!

/**
 * One session's life: created in a random mode, started, then `commands` random valid commands
 * (mostly switches, some pauses and resumes), and at the end completed, cancelled, deleted or left
 * running. Clocks are an hour long, so nothing expires on its own. Returns the statuses answered.
 */
export const runSession = async (baseUrl: string, sessionId: string, commands: number, pauseMs = 0): Promise<Array<number>> => {
  const statuses = [await post(baseUrl, "/v1/sessions", createBody(sessionId, pick(MODES)))]
  // A create refused (503 while Redis does not answer) made no session: its life ends there, as a
  // client's would, rather than sending commands that can only answer 404.
  if (statuses[0] !== 201) return statuses
  statuses.push(await post(baseUrl, `/v1/sessions/${sessionId}/start`))
  let paused = false
  for (let i = 0; i < commands; i++) {
    const verb: string = paused ? "resume" : Math.random() < 0.8 ? "switch" : "pause"
    statuses.push(await post(baseUrl, `/v1/sessions/${sessionId}/${verb}`))
    paused = verb === "pause"
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
  const end = pick(["complete", "cancel", "delete", "leave"] as const)
  if (end === "delete") {
    const response = await fetch(`${baseUrl}/v1/sessions/${sessionId}`, { method: "DELETE" })
    statuses.push(response.status)
  } else if (end !== "leave") {
    statuses.push(await post(baseUrl, `/v1/sessions/${sessionId}/${end}`))
  }
  return statuses
}

/** `count` random sessions, `concurrency` at a time; returns their ids once every command was answered. */
export const runSessions = async (baseUrl: string, count: number, concurrency = 16): Promise<Array<string>> => {
  const ids = Array.from({ length: count }, () => uuid())
  let next = 0
  const statuses: Array<number> = []
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < ids.length) statuses.push(...await runSession(baseUrl, ids[next++]!, 2 + Math.floor(Math.random() * 10)))
  }))
  expect(statuses.filter((s) => s >= 300)).toEqual([])
  return ids
}

/**
 * Commands that keep flowing until `stop()`: `loops` sessions at a time, each a random life with a
 * pause between commands. Every answer is recorded: the test decides which statuses are acceptable.
 */
export const commandFlow = (baseUrl: string, loops = 8, pauseMs = 20) => {
  const ids: Array<string> = []
  const statuses: Array<number> = []
  let running = true
  const done = Promise.all(Array.from({ length: loops }, async () => {
    while (running) {
      const id = uuid()
      ids.push(id)
      statuses.push(...await runSession(baseUrl, id, 5 + Math.floor(Math.random() * 10), pauseMs).catch(() => [0]))
    }
  }))
  return {
    ids,
    statuses,
    stop: async () => {
      running = false
      await done
    }
  }
}

/**
 * Waits until the audit at `databaseUrl` has every version of `sessionIds` up to the newest their Redis
 * indexes list (under `prefix`, on the test Redis or `redis`), then checks it holds exactly those
 * events, each once: every version from 1, the newest with the ids the index lists (it may have been
 * trimmed of older ones), and for the events Redis still holds (not yet trimmed from the shard log),
 * the same types, times and payloads.
 */
export const expectAuditMatchesRedis = async (
  prefix: string,
  databaseUrl: string,
  sessionIds: ReadonlyArray<string>,
  timeoutMs = 30_000,
  redis?: Layer.Layer<RedisClient, RedisUnavailable>
): Promise<number> => {
  const store = storeReader(prefix, redis)
  const audit = auditReader(databaseUrl)
  try {
    const streams = new Map<string, Awaited<ReturnType<typeof store.read>>>()
    for (const id of sessionIds) streams.set(id, await store.read(id))
    const newestOf = (stored: { readonly listed: ReadonlyArray<{ readonly version: number }> }) => stored.listed.at(-1)?.version ?? 0
    const expected = [...streams.values()].reduce((sum, stored) => sum + newestOf(stored), 0)
    const deadline = Date.now() + timeoutMs
    let audited = await audit.events(sessionIds)
    while (audited.length < expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      audited = await audit.events(sessionIds)
    }
    const bySession = new Map<string, Array<(typeof audited)[number]>>()
    for (const row of audited) bySession.set(row.session_id, [...bySession.get(row.session_id) ?? [], row])
    for (const [id, stored] of streams) {
      const { listed, events } = stored
      const rows = bySession.get(id) ?? []
      expect(rows.map((r) => r.version), id).toEqual(Array.from({ length: newestOf(stored) }, (_, i) => i + 1))
      expect(rows.slice(rows.length - listed.length).map((r) => ({ version: r.version, id: r.event_id })), id).toEqual(listed)
      // The events Redis holds are the newest it lists.
      expect(rows.slice(rows.length - events.length).map((r) => ({ id: r.event_id, type: r.type, at: r.at_ms, payload: r.payload })), id)
        .toEqual(events.map((e) => ({ id: e.id, type: e.type, at: e.at, payload: JSON.parse(e.payload) })))
    }
    return expected
  } finally {
    await store.close()
    await audit.close()
  }
}
