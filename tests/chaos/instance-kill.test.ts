/**
 * One of two instances is SIGKILLed with feeds open and commands flowing. Its clients reconnect to the
 * other with `since` and miss nothing; the other's projector takes over what the dead one left
 * pending, so every event is audited exactly once; the survivor answers no 5xx and stays ready.
 */
import { afterAll, expect, it } from "vitest"
import { commandFlow } from "../support/audit.ts"
import { expectNoServerErrors, expectRedisEventsAuditedOnce } from "../support/chaos.ts"
import { expectNoGapNoRepeat, followSession } from "../support/followed.ts"
import { testDatabaseUrl } from "../support/postgres.ts"
import { type ServiceProcess, spawnService } from "../support/process.ts"
import { type OwnRedis, startOwnRedis } from "../support/redisServer.ts"

const PREFIX = "sk:"
let redis: OwnRedis | undefined
const services: Array<ServiceProcess> = []
afterAll(async () => {
  for (const service of services) service.child.kill("SIGKILL")
  await redis?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

it("loses nothing when an instance is SIGKILLed with feeds open", async () => {
  redis = await startOwnRedis()
  const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX, LOG_LEVEL: "warn", AUDIT_RECLAIM_IDLE_MS: "2000" }
  // One after the other: two starting at once can outlast the start timeout on a busy machine.
  const victim = await spawnService("all", env)
  services.push(victim)
  const survivor = await spawnService("all", env)
  services.push(survivor)
  let alive = [victim.baseUrl, survivor.baseUrl]
  // Switches and clients go to both instances, until one dies.
  const followed = await followSession(() => alive, 4, 100)
  const flow = commandFlow(survivor.baseUrl, 3, 20)
  await sleep(3000)

  victim.child.kill("SIGKILL")
  await victim.exited
  alive = [survivor.baseUrl]
  await sleep(4000)
  const switches = await followed.stop()
  await flow.stop()

  // Only a switch in flight to the victim when it died may have gone unanswered.
  expect(switches.filter((status) => status === 0).length).toBeLessThanOrEqual(1)
  expectNoServerErrors([...flow.statuses, ...switches.filter((status) => status !== 0)], false)
  const read = (await (await fetch(`${survivor.baseUrl}/v1/sessions/${followed.sessionId}`)).json()) as { data: { version: number } }
  await expectNoGapNoRepeat(followed.clients, read.data.version)
  expect(followed.clients.some((client) => client.lostWith.length > 0)).toBe(true)
  await Promise.all(followed.clients.map((client) => client.stop()))
  expect(await expectRedisEventsAuditedOnce(PREFIX, redis.url, testDatabaseUrl(), [...flow.ids, followed.sessionId], 60_000)).toBeGreaterThan(50)
  expect((await fetch(`${survivor.baseUrl}/ready`)).status).toBe(200)
}, 120_000)
