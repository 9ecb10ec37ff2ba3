/**
 * The service on a Redis Cluster of three masters that the test starts: two instances configured
 * only by REDIS_CLUSTER_NODES (both run the scheduler and the audit, as `npm start` does), driven
 * over HTTP and WebSocket. The contract, the 200-way race, live feeds across instances with resume,
 * deadlines firing once, the audit holding every event once, and keys on every master.
 */
import { Layer, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { RedisClient } from "../../src/infra/RedisClient.ts"
import { readShardPlacement } from "../../src/infra/ShardPlacement.ts"
import { sessionBody } from "../support/app.ts"
import { expectAuditMatchesRedis } from "../support/audit.ts"
import { testDatabaseUrl } from "../support/postgres.ts"
import { type ServiceProcess, spawnService } from "../support/process.ts"
import { testPrefix } from "../support/redis.ts"
import { storeSettingsLayer } from "../support/settings.ts"
import { type RedisCluster, startRedisCluster } from "../support/redisCluster.ts"
import { storeReader } from "../support/store.ts"
import { ofType, openFeed } from "../support/ws.ts"

const prefix = testPrefix("redis-cluster")
let cluster: RedisCluster
let a: ServiceProcess
let b: ServiceProcess
let store: ReturnType<typeof storeReader>
/** Every session the tests create, for the audit check at the end. */
const sessions: Array<string> = []

const clusterLayer = () => RedisClient.layerCluster(cluster.seeds)

beforeAll(async () => {
  cluster = await startRedisCluster()
  const env = { REDIS_URL: "", REDIS_CLUSTER_NODES: cluster.seedList, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn" }
  // One after the other: two starts at once on a busy host can take longer than a start's timeout.
  a = await spawnService("all", env)
  b = await spawnService("all", env)
  store = storeReader(prefix, clusterLayer())
}, 150_000)

afterAll(async () => {
  for (const instance of [a, b]) instance?.child.kill("SIGKILL")
  await store?.close()
  await cluster?.stop()
})

const json = async (response: Response) => ({ status: response.status, body: await response.json().catch(() => undefined) as any })
const get = (base: string, path: string) => fetch(`${base}${path}`).then(json)
const send = (base: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  }).then(json)

const running = async (extra: Record<string, unknown> = { total_time_ms: 3_600_000 }) => {
  const body = sessionBody("per_participant", 2, extra)
  sessions.push(body.session_id)
  expect((await send(a.baseUrl, "/v1/sessions", body)).status).toBe(201)
  expect((await send(b.baseUrl, `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
  return body.session_id
}

it("answers the HTTP contract from either instance", async () => {
  for (const instance of [a, b]) {
    expect((await get(instance.baseUrl, "/ready")).status).toBe(200)
    expect((await get(instance.baseUrl, "/v1/time")).body.data).toMatchObject({ server_time_ms: expect.any(Number) })
  }
  const body = sessionBody("per_participant", 2, { total_time_ms: 3_600_000 })
  sessions.push(body.session_id)
  const id = body.session_id
  expect((await send(a.baseUrl, "/v1/sessions", body)).status).toBe(201)
  expect((await get(b.baseUrl, `/v1/sessions/${id}`)).body.data).toMatchObject({ status: "pending", version: 1 })
  expect((await send(b.baseUrl, `/v1/sessions/${id}/start`)).status).toBe(200)

  const first = await send(a.baseUrl, `/v1/sessions/${id}/switch`, undefined, { "idempotency-key": "switch-1" })
  const replayed = await send(b.baseUrl, `/v1/sessions/${id}/switch`, undefined, { "idempotency-key": "switch-1" })
  expect(first).toMatchObject({ status: 200, body: { data: { version: 3 } } })
  expect(replayed).toEqual(first)

  expect((await send(b.baseUrl, `/v1/sessions/${id}/switch`, { expected_version: 2 })).body.error.code).toBe("CONFLICT")
  expect((await send(a.baseUrl, `/v1/sessions/${id}/pause`)).body.data).toMatchObject({ status: "paused", version: 4 })
  expect((await send(b.baseUrl, `/v1/sessions/${id}/resume`)).body.data).toMatchObject({ status: "running", version: 5 })
  const invalid = await send(a.baseUrl, "/v1/sessions", { ...body, session_id: "nope" })
  expect(invalid.status).toBe(400)
  expect((await get(b.baseUrl, `/v1/sessions/${crypto.randomUUID()}`)).status).toBe(404)
  expect((await fetch(`${a.baseUrl}/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(204)
})

it("applies 200 concurrent switches through both instances, one event each, without gaps", async () => {
  const id = await running()
  const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => send(i % 2 === 0 ? a.baseUrl : b.baseUrl, `/v1/sessions/${id}/switch`)))
  expect(replies.map((r) => r.status)).toEqual(Array(200).fill(200))
  expect(replies.map((r) => r.body.data.version as number).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 3))
  const stored = await store.read(id)
  expect(stored.version).toBe(202)
  expect(stored.events.map((e) => e.version)).toEqual(Array.from({ length: 202 }, (_, i) => i + 1))
  expect(stored.replayed).toEqual(stored.snapshot)
})

it("feeds a session live on the other instance, and resumes a client there from where it left off", async () => {
  const id = await running()
  const feed = await openFeed(b.baseUrl, { sessionId: id })
  await feed.waitFor(ofType("STATE_SYNC"))
  for (let i = 0; i < 10; i++) expect((await send(a.baseUrl, `/v1/sessions/${id}/switch`)).status).toBe(200)
  await feed.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 12)
  const updates = feed.frames.filter(ofType("STATE_UPDATE"))
  expect(updates.map((f) => f.event.version)).toEqual(Array.from({ length: 10 }, (_, i) => i + 3))
  await feed.close()

  // Away for five switches; back on the other instance with the last event it had.
  for (let i = 0; i < 5; i++) expect((await send(b.baseUrl, `/v1/sessions/${id}/switch`)).status).toBe(200)
  const resumed = await openFeed(a.baseUrl, { sessionId: id, since: updates.at(-1)!.event.id })
  await resumed.waitFor(ofType("RESUMED"))
  expect((await send(b.baseUrl, `/v1/sessions/${id}/switch`)).status).toBe(200)
  await resumed.waitFor((f) => f.type === "STATE_UPDATE" && f.event.version === 18)
  expect(resumed.frames.filter(ofType("STATE_UPDATE")).map((f) => f.event.version)).toEqual([13, 14, 15, 16, 17, 18])
  await resumed.close()
})

it("fires every deadline exactly once with a scheduler on each instance", async () => {
  const ids = await Promise.all(Array.from({ length: 24 }, () => running({ total_time_ms: 1000 })))
  const deadline = Date.now() + 20_000
  for (const id of ids) {
    while ((await get(a.baseUrl, `/v1/sessions/${id}`)).body.data.status !== "expired") {
      if (Date.now() > deadline) throw new Error(`session ${id} did not expire`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  // A second firing would have to come after the first: give it the time to show.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  for (const id of ids) {
    const stored = await store.read(id)
    expect(stored.events.map((e) => e.type), id).toEqual(["SESSION_CREATED", "SESSION_STARTED", "TIME_EXPIRED", "SESSION_EXPIRED"])
  }
})

describe("placement", () => {
  it("puts keys on all three masters", async () => {
    const masters = (await cluster.nodes()).filter((node) => node.role === "master")
    expect(masters).toHaveLength(3)
    const counts = await Promise.all(
      masters.map(async (node) => (await cluster.cli(node.port, "--scan", "--pattern", `${prefix}*`)).trim().split("\n").filter(Boolean).length)
    )
    expect(counts.every((count) => count > 0), `keys per master: ${counts.join(", ")}`).toBe(true)
  })

  it("finds masters without a shard when SHARD_COUNT is too small for the cluster, none with the default", async () => {
    const placementWith = async (shardCount: number) => {
      const runtime = ManagedRuntime.make(Layer.mergeAll(clusterLayer(), storeSettingsLayer({ keyPrefix: prefix, shardCount })))
      try {
        return await runtime.runPromise(readShardPlacement)
      } finally {
        await runtime.dispose()
      }
    }
    expect((await placementWith(2))!.idleMasters.length).toBeGreaterThan(0)
    const spread = (await placementWith(16))!
    expect(spread.idleMasters).toEqual([])
    expect([...spread.shardsByMaster.values()].reduce((x, y) => x + y)).toBe(16)
  })
})

it("audits every event of every session exactly once", async () => {
  expect(await expectAuditMatchesRedis(prefix, testDatabaseUrl(), sessions, 60_000, clusterLayer())).toBeGreaterThan(300)
}, 90_000)
