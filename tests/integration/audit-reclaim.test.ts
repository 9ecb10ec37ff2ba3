/** The projector's consumer group: a dead consumer's entries are reclaimed, and the logs are never trimmed past what the audit took. */
import { Redis } from "ioredis"
import { afterAll, beforeAll, expect, it } from "vitest"
import { AUDIT_GROUP } from "../../src/infra/audit/Projector.ts"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { startServer, type TestServer } from "../support/app.ts"
import { expectAuditMatchesRedis, runSessions } from "../support/audit.ts"
import { auditReader, testDatabaseUrl } from "../support/postgres.ts"
import { deleteKeysWithPrefix, redisUrl, testPrefix } from "../support/redis.ts"

const SHARDS = 16
let redis: Redis
const prefixes: Array<string> = []

beforeAll(() => {
  redis = new Redis(redisUrl, { protocol: 2 })
})
afterAll(async () => {
  redis.disconnect()
  for (const prefix of prefixes) await deleteKeysWithPrefix(prefix)
})

const logsOf = (prefix: string) =>
  Array.from({ length: SHARDS }, (_, shard) => makeKeySchema({ keyPrefix: prefix, shardCount: SHARDS }).shard(shard).log)

/** A consumer that reads every new entry of every log and dies before acknowledging any. */
const dieHolding = async (prefix: string): Promise<number> => {
  let held = 0
  for (const log of logsOf(prefix)) {
    await redis.xgroup("CREATE", log, AUDIT_GROUP, "0", "MKSTREAM").catch(() => "BUSYGROUP")
    const reply = await redis.xreadgroup("GROUP", AUDIT_GROUP, "dead", "COUNT", 100_000, "STREAMS", log, ">") as
      | Array<[string, Array<unknown>]>
      | null
    held += reply?.[0]?.[1].length ?? 0
  }
  return held
}

const sessionIdsIn = async (prefix: string): Promise<Set<string>> => {
  const ids = new Set<string>()
  for (const log of logsOf(prefix)) {
    for (const [, fields] of await redis.xrange(log, "-", "+")) ids.add(fields[fields.indexOf("sid") + 1]!)
  }
  return ids
}

const withServer = async <A>(prefix: string, role: "api" | "all", overrides: Record<string, number>, f: (s: TestServer) => Promise<A>) => {
  const server = await startServer("audit-reclaim", { keyPrefix: prefix, shardCount: SHARDS, ...overrides }, role)
  try {
    return await f(server)
  } finally {
    await server.close()
  }
}

it("hands off the entries a dead consumer left pending, once they have been idle for AUDIT_RECLAIM_IDLE_MS", async () => {
  const prefix = testPrefix("audit-reclaim")
  prefixes.push(prefix)
  const ids = await withServer(prefix, "api", {}, (api) => runSessions(api.baseUrl, 40))
  const held = await dieHolding(prefix)
  expect(held).toBeGreaterThan(40 * 3)

  await withServer(prefix, "all", { auditReclaimIdleMs: 1000 }, async (worker) => {
    await expectAuditMatchesRedis(prefix, testDatabaseUrl(), ids, 20_000)
    for (const log of logsOf(prefix)) expect((await redis.xpending(log, AUDIT_GROUP))[0]).toBe(0)
    const metrics = await (await fetch(`${worker.baseUrl}/metrics`)).text()
    expect(metrics).toContain(`synckairos_audit_entries_handed_off_total{reclaimed="true"} ${held}`)
  })
}, 60_000)

it("trims what the audit has taken once it is older than the retention, and never an entry still pending", async () => {
  const prefix = testPrefix("audit-trim")
  prefixes.push(prefix)
  // Reclaiming is far off: the dead consumer's entries stay pending throughout.
  const worker = { resumeWindowMs: 1, auditReclaimIdleMs: 60_000 }
  const audited = await withServer(prefix, "all", worker, async (s) => {
    const ids = await runSessions(s.baseUrl, 10)
    await expectAuditMatchesRedis(prefix, testDatabaseUrl(), ids)
    return ids
  })
  const pending = await withServer(prefix, "api", {}, (api) => runSessions(api.baseUrl, 10))
  expect(await dieHolding(prefix)).toBeGreaterThan(0)

  await withServer(prefix, "all", worker, async (s) => {
    const later = await runSessions(s.baseUrl, 10)
    await expectAuditMatchesRedis(prefix, testDatabaseUrl(), later)
    const deadline = Date.now() + 20_000
    let inLogs = await sessionIdsIn(prefix)
    while (audited.some((id) => inLogs.has(id)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      inLogs = await sessionIdsIn(prefix)
    }
    expect(audited.filter((id) => inLogs.has(id))).toEqual([])
    expect(pending.filter((id) => !inLogs.has(id))).toEqual([])
  })
  const audit = auditReader(testDatabaseUrl())
  try {
    expect(await audit.events(pending)).toEqual([])
  } finally {
    await audit.close()
  }
}, 90_000)

it("keeps audited entries while they are inside the resume window", async () => {
  const prefix = testPrefix("audit-window")
  prefixes.push(prefix)
  // Maintenance (and so trimming) runs every second; the window outlasts the test.
  await withServer(prefix, "all", { resumeWindowMs: 60_000, auditReclaimIdleMs: 1000 }, async (s) => {
    const ids = await runSessions(s.baseUrl, 10)
    await expectAuditMatchesRedis(prefix, testDatabaseUrl(), ids)
    const pending = await Promise.all(logsOf(prefix).map(async (log) => (await redis.xpending(log, AUDIT_GROUP))[0]))
    expect(pending.every((count) => count === 0)).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const inLogs = await sessionIdsIn(prefix)
    expect(ids.filter((id) => !inLogs.has(id))).toEqual([])
  })
}, 60_000)
