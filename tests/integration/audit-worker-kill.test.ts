/**
 * Fault: the worker process is killed with SIGKILL in the middle of writing batches (their
 * transactions are held on a table lock, so the kill lands mid-batch), and a new worker is started.
 * Its projector reclaims what the dead one left pending and BullMQ's stalled check hands it the dead
 * one's active jobs: the audit ends up with every event exactly once.
 */
import { Redis } from "ioredis"
import pg from "pg"
import { afterAll, beforeAll, expect, it } from "vitest"
import { commandFlow, expectAuditMatchesRedis } from "../support/audit.ts"
import { createTestDatabase, dropDatabase } from "../support/postgres.ts"
import { type ServiceProcess, spawnService } from "../support/process.ts"
import { deleteKeysWithPrefix, redisUrl, testPrefix } from "../support/redis.ts"

const prefix = testPrefix("audit-kill")
let databaseUrl: string
const services: Array<ServiceProcess> = []
const redis = new Redis(redisUrl, { protocol: 2, lazyConnect: true })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const spawn = async (role: string) => {
  const service = await spawnService(role, {
    REDIS_KEY_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: "warn",
    // A dead worker's entries and jobs are taken over after 2 s instead of 30.
    AUDIT_RECLAIM_IDLE_MS: "2000"
  })
  services.push(service)
  return service
}

beforeAll(async () => {
  // A database of its own: the table lock below must not hold up other test files.
  databaseUrl = await createTestDatabase("kill")
}, 60_000)

afterAll(async () => {
  for (const service of services) service.child.kill("SIGKILL")
  await dropDatabase(databaseUrl)
  redis.disconnect()
  await deleteKeysWithPrefix(prefix)
})

it("loses and duplicates nothing when a worker dies mid-batch", async () => {
  const api = await spawn("api")
  const first = await spawn("worker")
  const flow = commandFlow(api.baseUrl, 4, 20)
  await sleep(2000)

  // Hold every batch transaction on a lock, until the worker has some in flight.
  const locker = new pg.Client({ connectionString: databaseUrl })
  await locker.connect()
  await locker.query("BEGIN")
  await locker.query("LOCK TABLE session_events IN EXCLUSIVE MODE")
  const blocked = async () =>
    (await locker.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.datname = current_database()"
    )).rows[0]!.n
  const deadline = Date.now() + 15_000
  while ((await blocked()) === 0 && Date.now() < deadline) await sleep(100)
  expect(await blocked()).toBeGreaterThan(0)
  expect(await redis.llen(`${prefix}{audit}:audit:active`)).toBeGreaterThan(0)

  first.child.kill("SIGKILL")
  await first.exited
  await locker.query("ROLLBACK")
  await locker.end()

  await spawn("worker")
  await sleep(3000)
  await flow.stop()
  expect(flow.statuses.filter((status) => status < 200 || status >= 300)).toEqual([])
  expect(await expectAuditMatchesRedis(prefix, databaseUrl, flow.ids, 60_000)).toBeGreaterThan(200)
}, 120_000)
