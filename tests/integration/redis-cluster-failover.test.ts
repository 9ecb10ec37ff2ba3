/**
 * Failover on a Redis Cluster of three masters with one replica each: while two instances take
 * switches on every shard and clients follow each session live, the master that holds the audit
 * queue (and a third of the shards) is SIGKILLed and its replica takes over. Commands answer 503 for
 * no longer than the failover, then succeed again; no acknowledged event is missing from Redis, from
 * the live feeds or from the audit.
 */
import { createRequire } from "node:module"
import { afterAll, beforeAll, expect, it } from "vitest"
import { RedisClient } from "../../src/infra/RedisClient.ts"
import { sessionBody } from "../support/app.ts"
import { expectAuditMatchesRedis } from "../support/audit.ts"
import { post, waitUntil } from "../support/instances.ts"
import { createTestDatabase, dropDatabase } from "../support/postgres.ts"
import { type ServiceProcess, spawnService } from "../support/process.ts"
import { testPrefix } from "../support/redis.ts"
import { type RedisCluster, retryUntil, startRedisCluster } from "../support/redisCluster.ts"
import { storeReader } from "../support/store.ts"
import { type TrackedClient, trackSession } from "../support/ws.ts"

// cluster-key-slot ships no types; it is the slot function ioredis routes with.
const clusterKeySlot = createRequire(import.meta.url)("cluster-key-slot") as (key: string) => number

const prefix = testPrefix("redis-cluster-failover")
const NODE_TIMEOUT_MS = 1000
let cluster: RedisCluster
let databaseUrl: string
let instances: Array<ServiceProcess> = []

beforeAll(async () => {
  ;[cluster, databaseUrl] = await Promise.all([
    startRedisCluster({ replicasPerMaster: 1, nodeTimeoutMs: NODE_TIMEOUT_MS }),
    createTestDatabase("failover")
  ])
  const env = {
    REDIS_URL: "",
    REDIS_CLUSTER_NODES: cluster.seedList,
    REDIS_KEY_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: "warn",
    // A job whose worker lost its lock in the failover is taken back after 2 s instead of 30.
    AUDIT_RECLAIM_IDLE_MS: "2000"
  }
  // One after the other: two starts at once on a busy host can take longer than a start's timeout.
  for (let i = 0; i < 2; i++) instances.push(await spawnService("all", env))
}, 150_000)

afterAll(async () => {
  for (const instance of instances) instance.child.kill("SIGKILL")
  await cluster?.stop()
  if (databaseUrl !== undefined) await dropDatabase(databaseUrl)
})

interface Answer {
  readonly status: number
  readonly at: number
  readonly version: number | undefined
}

it("answers 503 no longer than the failover takes, then goes on, and loses no acknowledged event", async () => {
  const urls = instances.map((instance) => instance.baseUrl)
  const ids = Array.from({ length: 12 }, () => sessionBody("per_participant", 2, { total_time_ms: 3_600_000 }))
  for (const body of ids) {
    expect((await post(urls[0]!, "/v1/sessions", body)).status).toBe(201)
    expect((await post(urls[1]!, `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
  }
  const sessionIds = ids.map((body) => body.session_id)
  const clients: Array<TrackedClient> = await Promise.all(sessionIds.map((id, i) => trackSession(urls[i % 2]!, id, () => urls)))
  await waitUntil("every client has its state", () => clients.every((client) => client.syncs() === 1))

  // One writer per session, switching through both instances in turn, every answer recorded.
  const answers = new Map<string, Array<Answer>>(sessionIds.map((id) => [id, []]))
  let writing = true
  const writers = sessionIds.map(async (id, w) => {
    for (let n = w; writing; n++) {
      const response = await post(urls[n % 2]!, `/v1/sessions/${id}/switch`).catch(() => undefined)
      const body = await response?.json().catch(() => undefined) as { data?: { version: number } } | undefined
      answers.get(id)!.push({ status: response?.status ?? 0, at: Date.now(), version: body?.data?.version })
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })
  const acknowledged = () => [...answers.values()].flat().filter((answer) => answer.status === 200).length
  await waitUntil("writes before the kill", () => acknowledged() >= 150, 60_000)

  const auditSlot = clusterKeySlot(`${prefix}{audit}`)
  const victim = (await cluster.nodes()).find((node) => node.role === "master" && ownsSlot(node, auditSlot))
  expect(victim).toBeDefined()
  const killedAt = Date.now()
  await cluster.kill(victim!.port)
  // Until the others notice the kill, the cluster still says ok: wait for a replica to take over first.
  await retryUntil(async () => {
    const masters = (await cluster.nodes()).filter((node) => node.role === "master")
    if (masters.length !== 3 || masters.some((node) => node.port === victim!.port)) {
      throw new Error(`no replica has taken over from ${victim!.port}: masters ${masters.map((node) => node.port).join(", ")}`)
    }
  }, 30_000)
  await cluster.waitUntilOk(30_000)
  const failoverMs = Date.now() - killedAt

  // Every session takes writes again.
  const countsAfter = new Map(sessionIds.map((id) => [id, answers.get(id)!.length]))
  await waitUntil(
    "10 acknowledged switches on every session after the failover",
    () => sessionIds.every((id) => answers.get(id)!.slice(countsAfter.get(id)!).filter((answer) => answer.status === 200).length >= 10),
    60_000
  )
  writing = false
  await Promise.all(writers)

  const all = [...answers.values()].flat()
  const failed = all.filter((answer) => answer.status !== 200)
  // Unavailable, said as such, only while the failover lasts (plus a command's timeout, 2 s).
  expect(new Set(failed.map((answer) => answer.status))).toEqual(failed.length === 0 ? new Set() : new Set([503]))
  for (const answer of failed) {
    expect(answer.at).toBeGreaterThanOrEqual(killedAt)
    expect(answer.at - killedAt).toBeLessThanOrEqual(failoverMs + 3000)
  }

  // Every acknowledged version is among the session's events in Redis, which have no gap.
  const store = storeReader(prefix, RedisClient.layerCluster(cluster.seeds))
  const finals = new Map<string, number>()
  try {
    for (const id of sessionIds) {
      const stored = await store.read(id)
      finals.set(id, stored.version)
      expect(stored.events.map((event) => event.version)).toEqual(Array.from({ length: stored.version }, (_, i) => i + 1))
      const acked = answers.get(id)!.flatMap((answer) => (answer.status === 200 ? [answer.version!] : []))
      expect(Math.max(...acked)).toBeLessThanOrEqual(stored.version)
    }
  } finally {
    await store.close()
  }

  // Every client saw every version once, in order.
  await waitUntil(
    "every client reached its session's last version",
    () => clients.every((client, i) => client.lastVersion() === finals.get(sessionIds[i]!)),
    30_000
  ).catch((error: Error) => {
    const behind = clients.flatMap((client, i) =>
      client.lastVersion() === finals.get(sessionIds[i]!) ? [] : [`${sessionIds[i]} at ${client.lastVersion()} of ${finals.get(sessionIds[i]!)}`]
    )
    throw new Error(`${error.message}: ${behind.join("; ")}`)
  })
  await Promise.all(clients.map((client) => client.stop()))
  for (const client of clients) {
    expect(client.versions).toEqual(Array.from({ length: client.lastVersion() - client.baseVersion() }, (_, i) => client.baseVersion() + 1 + i))
  }

  expect(await expectAuditMatchesRedis(prefix, databaseUrl, sessionIds, 60_000, RedisClient.layerCluster(cluster.seeds))).toBeGreaterThan(250)
  console.info(`failover: ${failoverMs} ms until the cluster was ok; ${failed.length} of ${all.length} switches answered 503`)
}, 240_000)

const ownsSlot = (node: { readonly slotRanges: ReadonlyArray<readonly [number, number]> }, slot: number) =>
  node.slotRanges.some(([from, to]) => slot >= from && slot <= to)
