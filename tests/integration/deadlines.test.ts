/**
 * The server fires warnings and timeouts by itself, on time and exactly once: every mode and action
 * with short real clocks, pause and resume around a deadline, a switch racing an expiry, and two
 * scheduler processes at once.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { StoreSettings } from "../../src/infra/StoreSettings.ts"
import { call, sessionBody, startServer, type TestServer } from "../support/app.ts"
import { spawnService } from "../support/process.ts"
import { redisUrl } from "../support/redis.ts"
import { storeReader } from "../support/store.ts"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Generous: a loaded CI machine may be slow, but a missed deadline is seconds late, not this. */
const MAX_LATENESS_MS = 250

let server: TestServer
let store: ReturnType<typeof storeReader>
beforeAll(async () => {
  server = await startServer("deadlines", {}, "all")
  store = storeReader(server.prefix)
})
afterAll(async () => {
  await store.close()
  await server.close()
})

const create = async (body: Record<string, unknown>) => {
  const reply = await call(server, "POST", "/v1/sessions", body)
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
}
const start = async (id: string) => {
  const reply = await call(server, "POST", `/v1/sessions/${id}/start`)
  expect(reply.status).toBe(200)
  return Date.parse(reply.body.data.cycle_started_at)
}
/** The events after creation, as `TYPE@ms-after-start`, and how late each was committed. */
const history = async (id: string, startedAt: number) => {
  const { events } = await store.read(id)
  const later = events.slice(2)
  for (const e of later) {
    if (e.type === "TIME_EXPIRED" || e.type === "TIMEOUT_WARNING") {
      const committedAt = Number(e.id.split("-")[0])
      expect(committedAt - e.at, `${e.type} committed late`).toBeLessThan(MAX_LATENESS_MS)
      expect(committedAt).toBeGreaterThanOrEqual(e.at)
    }
  }
  return later.map((e) => `${e.type}@${e.at - startedAt}`)
}

const modes = {
  per_participant: { total_time_ms: 1_000 },
  per_cycle: { time_per_cycle_ms: 1_000 },
  per_group: { total_time_ms: 1_000 },
  global: { total_time_ms: 1_000 },
  count_up: { max_time_ms: 1_000 }
} as const

/** What the server records by itself, 2.4 s after the start, for two participants with 1 s clocks. */
const expected: Record<string, Record<string, Array<string>>> = {
  end_session: Object.fromEntries(Object.keys(modes).map((m) => [m, ["TIME_EXPIRED@1000", "SESSION_EXPIRED@1000"]])),
  skip_cycle: {
    per_participant: ["TIME_EXPIRED@1000", "CYCLE_SWITCHED@1000", "TIME_EXPIRED@2000", "SESSION_EXPIRED@2000"],
    per_cycle: ["TIME_EXPIRED@1000", "CYCLE_SWITCHED@1000", "TIME_EXPIRED@2000", "SESSION_EXPIRED@2000"],
    per_group: ["TIME_EXPIRED@1000", "CYCLE_SWITCHED@1000", "TIME_EXPIRED@2000", "SESSION_EXPIRED@2000"],
    global: ["TIME_EXPIRED@1000", "SESSION_EXPIRED@1000"],
    count_up: ["TIME_EXPIRED@1000", "SESSION_EXPIRED@1000"]
  },
  notify: Object.fromEntries(Object.keys(modes).map((m) => [m, ["TIME_EXPIRED@1000"]]))
}

describe("timeouts fire by themselves", () => {
  it("in every mode with every action, at the deadline, exactly once", async () => {
    const cases = Object.entries(modes).flatMap(([mode, clocks]) =>
      ["end_session", "skip_cycle", "notify"].map((action) => ({ mode, action, clocks }))
    )
    const runs = await Promise.all(cases.map(async ({ mode, action, clocks }) => {
      const body = sessionBody(mode, 2, { ...clocks, action_on_timeout: action })
      if (mode === "per_group") body.participants.forEach((p, i) => Object.assign(p, { group_id: body.participants[i]!.participant_id }))
      await create(body)
      return { mode, action, id: body.session_id, startedAt: await start(body.session_id) }
    }))
    await sleep(2_400)
    for (const { mode, action, id, startedAt } of runs) {
      expect(await history(id, startedAt), `${mode} ${action}`).toEqual(expected[action]![mode])
    }
    // A notified clock stays at zero and the session keeps running.
    const notified = runs.find((r) => r.mode === "per_participant" && r.action === "notify")!
    const state = (await call(server, "GET", `/v1/sessions/${notified.id}`)).body.data
    expect(state).toMatchObject({ status: "running", time_remaining_ms: 0, deadline_at: null })
  })

  it("auto-advances per_cycle turns and emits warnings once per turn", async () => {
    const body = sessionBody("per_cycle", 2, { time_per_cycle_ms: 1_000, auto_advance: true, timeout_warnings_ms: [400] })
    await create(body)
    const startedAt = await start(body.session_id)
    await sleep(2_300)
    expect(await history(body.session_id, startedAt)).toEqual([
      "TIMEOUT_WARNING@600", "TIME_EXPIRED@1000", "CYCLE_SWITCHED@1000",
      "TIMEOUT_WARNING@1600", "TIME_EXPIRED@2000", "CYCLE_SWITCHED@2000"
    ])
  })

  it("holds a deadline while paused and moves it by the pause on resume", async () => {
    const body = sessionBody("per_participant", 2, { total_time_ms: 1_000 })
    await create(body)
    const startedAt = await start(body.session_id)
    await sleep(400)
    const paused = (await call(server, "POST", `/v1/sessions/${body.session_id}/pause`)).body.data
    await sleep(1_000)
    expect((await call(server, "GET", `/v1/sessions/${body.session_id}`)).body.data.status).toBe("paused")
    const resumed = (await call(server, "POST", `/v1/sessions/${body.session_id}/resume`)).body.data
    const left = paused.participants[0].time_remaining_ms
    expect(Date.parse(resumed.deadline_at)).toBe(resumed.server_time_ms + left)
    await sleep(left + 300)
    const events = await history(body.session_id, startedAt)
    expect(events.slice(-2)).toEqual([
      `TIME_EXPIRED@${resumed.server_time_ms + left - startedAt}`,
      `SESSION_EXPIRED@${resumed.server_time_ms + left - startedAt}`
    ])
  })

  it("keeps a running session alive until past its deadline, however long the clock", async () => {
    const body = sessionBody("per_participant", 2, { total_time_ms: 7_200_000 })
    await create(body)
    await start(body.session_id)
    const redis = new Redis(redisUrl, { protocol: 2 })
    const keys = makeKeySchema({ keyPrefix: server.prefix, shardCount: StoreSettings.schema.shardCount.defaultValue }).session(body.session_id)
    const ttlMs = await redis.pttl(keys.snapshot)
    redis.disconnect()
    // The 2 h clock plus the 1 h idle TTL, not just the idle TTL.
    expect(ttlMs).toBeGreaterThan(7_200_000 + 3_500_000)
  })
})

describe("a switch racing the expiry", () => {
  it("never yields two outcomes: either the switch is in time or the timeout wins, consistently", async () => {
    const sessions = await Promise.all(Array.from({ length: 16 }, async (_, i) => {
      const body = sessionBody("per_participant", 2, { total_time_ms: 1_000 })
      await create(body)
      return { id: body.session_id, a: body.participants[0]!.participant_id, offset: (i - 8) * 10, startedAt: await start(body.session_id) }
    }))
    const replies = await Promise.all(sessions.map(async (s) => {
      await sleep(Math.max(0, s.startedAt + 1_000 + s.offset - Date.now()))
      return call(server, "POST", `/v1/sessions/${s.id}/switch`, {})
    }))
    await sleep(300)
    let inTime = 0
    let lost = 0
    for (const [i, s] of sessions.entries()) {
      const types = (await store.read(s.id)).events.slice(2).map((e) => e.type)
      const reply = replies[i]!
      if (reply.status === 200 && reply.body.data.expired_participant_id === undefined) {
        // The switch came first: B holds the turn and A never expired.
        inTime++
        expect(types[0]).toBe("CYCLE_SWITCHED")
        expect(types).not.toContain("SESSION_EXPIRED")
      } else {
        // The timeout came first, whoever committed it: one expiry, and the switch changed nothing.
        lost++
        expect(types).toEqual(["TIME_EXPIRED", "SESSION_EXPIRED"])
        if (reply.status === 200) expect(reply.body.data).toMatchObject({ status: "expired", expired_participant_id: s.a })
        else expect(reply.body.error.code).toBe("INVALID_STATE_TRANSITION")
      }
    }
    // Switches were sent from 80 ms before to 70 ms after the deadline: both outcomes must occur.
    expect(inTime).toBeGreaterThan(0)
    expect(lost).toBeGreaterThan(0)
  })
})

describe("two scheduler processes", () => {
  it("fire exactly one expiry per deadline", async () => {
    const api = await startServer("deadlines-pair")
    const env = { REDIS_KEY_PREFIX: api.prefix }
    const workers = await Promise.all([spawnService("worker", env), spawnService("worker", env)])
    const pair = storeReader(api.prefix)
    try {
      const ids = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const body = sessionBody("per_participant", 2, { total_time_ms: 1_000 + i * 25 })
        expect((await call(api, "POST", "/v1/sessions", body)).status).toBe(201)
        expect((await call(api, "POST", `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
        return body.session_id
      }))
      await sleep(2_500)
      for (const id of ids) {
        const { events, snapshot } = await pair.read(id)
        expect(events.filter((e) => e.type === "TIME_EXPIRED")).toHaveLength(1)
        expect(events.filter((e) => e.type === "SESSION_EXPIRED")).toHaveLength(1)
        expect(snapshot?.status).toBe("expired")
      }
    } finally {
      for (const w of workers) w.child.kill("SIGTERM")
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0])
      await pair.close()
      await api.close()
    }
  })
})
