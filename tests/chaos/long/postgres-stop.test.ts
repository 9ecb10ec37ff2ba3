/**
 * PostgreSQL stopped for 60 s under load. Commands are served throughout; /ready says degraded at
 * once and raises the audit_lag alarm (503) once the lag passes AUDIT_LAG_ALARM_MS; when PostgreSQL
 * is back the audit catches up, every event exactly once, and /ready is ready again.
 */
import { afterAll, expect, it } from "vitest"
import { startServer, type TestServer } from "../../support/app.ts"
import { commandFlow } from "../../support/audit.ts"
import { expectNoServerErrors, expectRedisEventsAuditedOnce } from "../../support/chaos.ts"
import { createTestDatabase } from "../../support/postgres.ts"
import { type OwnPostgres, startOwnPostgres } from "../../support/postgresServer.ts"
import { type OwnRedis, startOwnRedis } from "../../support/redisServer.ts"

const OUTAGE_MS = 60_000
const LAG_ALARM_MS = 20_000
let redis: OwnRedis | undefined
let postgres: OwnPostgres | undefined
let server: TestServer | undefined
afterAll(async () => {
  await server?.close()
  await redis?.stop()
  await postgres?.close()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Ready {
  readonly status: number
  readonly body: { status: string; checks: { postgres: string; audit: { alarms: Array<{ name: string }> } } }
}

it("serves commands through a 60 s PostgreSQL outage, says so on /ready, and audits everything after", async () => {
  redis = await startOwnRedis()
  postgres = await startOwnPostgres()
  const databaseUrl = await createTestDatabase("chaos_pg", postgres.server)
  server = await startServer("chaos-postgres", {
    redisUrl: redis.url,
    databaseUrl,
    auditLagAlarmMs: LAG_ALARM_MS,
    auditJobAttempts: 3,
    auditRetryBaseMs: 200,
    auditRedriveIntervalMs: 2000
  }, "all")
  const baseUrl = server.baseUrl
  const ready = async (): Promise<Ready> => {
    const response = await fetch(`${baseUrl}/ready`)
    return { status: response.status, body: await response.json() as Ready["body"] }
  }
  const flow = commandFlow(baseUrl, 2, 50)
  await sleep(3000)

  await postgres.stop()
  const during: Array<Ready> = []
  const outageEnds = Date.now() + OUTAGE_MS
  while (Date.now() < outageEnds) {
    during.push(await ready())
    await sleep(2000)
  }
  await postgres.start()

  // Degraded from the start, the named alarm (503) once the lag passed the threshold.
  expect(during.every((r) => r.body.status === "degraded" && r.body.checks.postgres !== "ok")).toBe(true)
  const alarmed = during.filter((r) => r.status === 503)
  expect(alarmed.length).toBeGreaterThan(0)
  expect(alarmed.every((r) => r.body.checks.audit.alarms.some((alarm) => alarm.name === "audit_lag"))).toBe(true)
  expect(during.filter((r) => r.status !== 200 && r.status !== 503)).toEqual([])

  await sleep(2000)
  await flow.stop()
  // PostgreSQL is not on the command path: every command was answered as without the outage.
  expectNoServerErrors(flow.statuses, false)
  expect(await expectRedisEventsAuditedOnce(server.prefix, redis.url, databaseUrl, flow.ids, 90_000)).toBeGreaterThan(200)
  const deadline = Date.now() + 30_000
  let after = await ready()
  while (after.status !== 200 && Date.now() < deadline) {
    await sleep(1000)
    after = await ready()
  }
  expect(after).toMatchObject({ status: 200, body: { status: "ready", checks: { postgres: "ok", audit: { alarms: [] } } } })
}, 180_000)
