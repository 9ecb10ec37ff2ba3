/** What every fault case checks once the fault is over. */
import { expect } from "vitest"
import { RedisClient } from "../../src/infra/RedisClient.ts"
import { auditReader } from "./postgres.ts"
import { storeReader } from "./store.ts"

/**
 * Every event the sessions' Redis indexes still list reaches the audit exactly once (events Redis lost
 * are not asked for). Waits up to `timeoutMs` for the audit to catch up; returns how many were checked.
 */
export const expectRedisEventsAuditedOnce = async (
  prefix: string,
  redisUrl: string,
  databaseUrl: string,
  sessionIds: ReadonlyArray<string>,
  timeoutMs = 60_000
): Promise<number> => {
  const store = storeReader(prefix, RedisClient.layer(redisUrl))
  const audit = auditReader(databaseUrl)
  try {
    const inRedis = new Set<string>()
    for (const id of sessionIds) {
      for (const event of (await store.read(id)).listed) inRedis.add(`${id}/${event.id}`)
    }
    const audited = async () => {
      const counts = new Map<string, number>()
      for (const row of await audit.events(sessionIds)) {
        const key = `${row.session_id}/${row.event_id}`
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      return counts
    }
    const deadline = Date.now() + timeoutMs
    let counts = await audited()
    while ([...inRedis].some((key) => !counts.has(key)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      counts = await audited()
    }
    expect([...inRedis].filter((key) => counts.get(key) !== 1)).toEqual([])
    return inRedis.size
  } finally {
    await store.close()
    await audit.close()
  }
}

/**
 * Every command was answered, and none with a 5xx but (only where allowed) 503 while the fault lasts.
 * A 4xx may follow from the fault: 404 for a session Redis lost; 400 for a command whose predecessor
 * answered 503 without being applied, which the test's client cannot tell.
 */
export const expectNoServerErrors = (statuses: ReadonlyArray<number>, allow503: boolean) => {
  const allowed = (status: number) => (status >= 200 && status < 500) || (allow503 && status === 503)
  expect(statuses.filter((status) => !allowed(status))).toEqual([])
}
