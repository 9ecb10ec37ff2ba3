/**
 * Redis stalls for 2 s (DEBUG SLEEP), three times under load. Nothing acknowledged is lost: every event
 * is audited exactly once, live clients see every version once and in order, and nothing answers
 * 5xx but 503 while Redis does not answer.
 */
import { Redis } from "ioredis"
import { afterAll, expect, it } from "vitest"
import { startServer, type TestServer } from "../support/app.ts"
import { commandFlow } from "../support/audit.ts"
import { expectNoServerErrors, expectRedisEventsAuditedOnce } from "../support/chaos.ts"
import { expectNoGapNoRepeat, followSession } from "../support/followed.ts"
import { testDatabaseUrl } from "../support/postgres.ts"
import { type OwnRedis, startOwnRedis } from "../support/redisServer.ts"

let redis: OwnRedis | undefined
let server: TestServer | undefined
afterAll(async () => {
  await server?.close()
  await redis?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

it("loses nothing through three 2 s stalls of Redis", async () => {
  redis = await startOwnRedis()
  server = await startServer("chaos-stall", { redisUrl: redis.url, auditReclaimIdleMs: 1000 }, "all")
  const baseUrl = server.baseUrl
  const followed = await followSession(() => [baseUrl])
  const flow = commandFlow(baseUrl, 4, 20)
  const admin = new Redis(redis.url, { protocol: 2 })
  try {
    for (let stall = 0; stall < 3; stall++) {
      await sleep(1500)
      await admin.call("DEBUG", "SLEEP", "2")
    }
  } finally {
    admin.disconnect()
  }
  await sleep(1500)
  const switches = await followed.stop()
  await flow.stop()

  expectNoServerErrors([...flow.statuses, ...switches], true)
  expect(flow.statuses.filter((status) => status === 404)).toEqual([])
  const read = (await (await fetch(`${baseUrl}/v1/sessions/${followed.sessionId}`)).json()) as { data: { version: number } }
  const version = read.data.version
  await expectNoGapNoRepeat(followed.clients, version)
  await Promise.all(followed.clients.map((client) => client.stop()))
  expect(await expectRedisEventsAuditedOnce(server.prefix, redis.url, testDatabaseUrl(), [...flow.ids, followed.sessionId])).toBeGreaterThan(50)
  expect((await fetch(`${baseUrl}/ready`)).status).toBe(200)
}, 120_000)
