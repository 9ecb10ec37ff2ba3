/**
 * Fault: PostgreSQL is stopped for 45 s while commands keep flowing, then started again. The service
 * keeps answering, the outage and the lag show on /ready, jobs out of retries are parked and re-driven,
 * and once the lag has drained the audit holds every event exactly once.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { commandFlow, expectAuditMatchesRedis } from "../support/audit.ts"
import { createTestDatabase } from "../support/postgres.ts"
import { type OwnPostgres, startOwnPostgres } from "../support/postgresServer.ts"
import { type ServiceProcess, spawnService } from "../support/process.ts"
import { deleteKeysWithPrefix, testPrefix } from "../support/redis.ts"

const OUTAGE_MS = 45_000
/** When /ready is read during the outage: the retries are long spent by then. */
const LOOK_AFTER_MS = 30_000
const prefix = testPrefix("audit-outage")
let postgres: OwnPostgres
let service: ServiceProcess
let databaseUrl: string

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const ready = async () => (await (await fetch(`${service.baseUrl}/ready`)).json()) as {
  status: string
  checks: { postgres: string; audit: { lag_ms: number; failed_jobs: number } }
}

beforeAll(async () => {
  postgres = await startOwnPostgres()
  databaseUrl = await createTestDatabase("outage", postgres.server)
  service = await spawnService("all", {
    REDIS_KEY_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: "warn",
    // Few, quick retries: the outage outlasts them, so parked jobs must be re-driven.
    AUDIT_JOB_ATTEMPTS: "3",
    AUDIT_RETRY_BASE_MS: "200",
    AUDIT_REDRIVE_INTERVAL_MS: "2000"
  })
}, 60_000)

afterAll(async () => {
  service?.child.kill("SIGKILL")
  await postgres?.close()
  await deleteKeysWithPrefix(prefix)
})

it("loses nothing while PostgreSQL is down for 45 s", async () => {
  const flow = commandFlow(service.baseUrl, 4, 50)
  await sleep(3000)

  await postgres.stop()
  await sleep(LOOK_AFTER_MS)
  const during = await ready()
  expect(during.status).toBe("degraded")
  expect(during.checks.postgres).not.toBe("ok")
  expect(during.checks.audit.lag_ms).toBeGreaterThan(LOOK_AFTER_MS - 5000)
  expect(during.checks.audit.failed_jobs).toBeGreaterThan(0)
  await sleep(OUTAGE_MS - LOOK_AFTER_MS)
  await postgres.start()

  await sleep(3000)
  await flow.stop()
  // The service answered every command throughout: PostgreSQL is not on the command path.
  expect(flow.statuses.filter((status) => status < 200 || status >= 300)).toEqual([])
  const events = await expectAuditMatchesRedis(prefix, databaseUrl, flow.ids, 120_000)
  expect(events).toBeGreaterThan(1000)

  const after = await ready()
  expect(after).toMatchObject({ status: "ready", checks: { postgres: "ok", audit: { failed_jobs: 0 } } })
  expect(after.checks.audit.lag_ms).toBeLessThan(5000)
}, 300_000)
