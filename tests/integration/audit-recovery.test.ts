/**
 * The audit recovers by itself when Redis loses its data: the groups are created again, every event
 * still in Redis is audited exactly once, the gap is reported, and /ready raises a named alarm (503)
 * while the projector cannot read a log, then clears.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, expect, it } from "vitest"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { RedisClient } from "../../src/infra/RedisClient.ts"
import { startServer, type TestServer } from "../support/app.ts"
import { expectAuditMatchesRedis, runSessions } from "../support/audit.ts"
import { testDatabaseUrl } from "../support/postgres.ts"
import { startOwnRedis, type OwnRedis } from "../support/redisServer.ts"

let redis: OwnRedis
let server: TestServer
let admin: Redis

beforeAll(async () => {
  redis = await startOwnRedis()
  admin = new Redis(redis.url, { protocol: 2 })
  // Maintenance every second, and a short lag alarm.
  server = await startServer("audit-recovery", { redisUrl: redis.url, auditReclaimIdleMs: 1000, auditLagAlarmMs: 5000 }, "all")
}, 60_000)

afterAll(async () => {
  await server?.close()
  admin?.disconnect()
  await redis?.stop()
})

const get = async (path: string) => {
  const response = await fetch(`${server.baseUrl}${path}`)
  return { status: response.status, text: await response.text() }
}

const waitFor = async (what: string, condition: () => Promise<boolean>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

it("audits every event committed after Redis lost its data, and reports the gap", async () => {
  const before = await runSessions(server.baseUrl, 8, 4)
  await expectAuditMatchesRedis(server.prefix, testDatabaseUrl(), before, 30_000, RedisClient.layer(redis.url))
  // Let a maintenance pass look at the logs as they are now.
  await new Promise((resolve) => setTimeout(resolve, 1500))

  await admin.flushall()
  const after = await runSessions(server.baseUrl, 8, 4)
  await expectAuditMatchesRedis(server.prefix, testDatabaseUrl(), after, 30_000, RedisClient.layer(redis.url))

  const metrics = await get("/metrics")
  const gaps = metrics.text.split("\n").filter((line) => line.startsWith("synckairos_audit_log_gaps_total{"))
  expect(gaps.reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0)).toBeGreaterThan(0)
  await waitFor("/ready is ready", async () => (await get("/ready")).status === 200)
  expect(JSON.parse((await get("/ready")).text)).toMatchObject({ status: "ready", checks: { audit: { alarms: [] } } })
}, 120_000)

it("answers 503 with a named alarm while the projector cannot read a log, and ready once it can", async () => {
  const log = makeKeySchema({ keyPrefix: server.prefix, shardCount: 16 }).shard(1).log
  // A log replaced by a key of another type: every read of it fails.
  await admin.del(log)
  await admin.set(log, "not a stream")
  await waitFor("/ready answers 503", async () => (await get("/ready")).status === 503)
  const degraded = JSON.parse((await get("/ready")).text)
  expect(degraded.status).toBe("degraded")
  expect(degraded.checks.audit.alarms.map((alarm: { name: string }) => alarm.name)).toContain("audit_log_unreadable")

  await admin.del(log)
  const recovered = await runSessions(server.baseUrl, 4, 4)
  await waitFor("/ready is ready again", async () => (await get("/ready")).status === 200)
  await expectAuditMatchesRedis(server.prefix, testDatabaseUrl(), recovered, 30_000, RedisClient.layer(redis.url))
}, 120_000)
