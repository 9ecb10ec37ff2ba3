/**
 * Rate-limit counters leased from Redis: an instance asks Redis once per lease, not once per request,
 * and instances sharing a counter never admit more than the limit in one window.
 */
import { Redis } from "ioredis"
import { afterAll, describe, expect, it } from "vitest"
import { leaseFromRedis, type LeaseRequests, leaseSizeOf, makeRateLimitLeases } from "../../src/infra/RateLimitLeases.ts"
import { registerScripts } from "../../src/infra/scripts.ts"
import { deleteKeysWithPrefix, redisUrl, testPrefix } from "../support/redis.ts"

const prefix = testPrefix("rate-limit-leases")
const redis = new Redis(redisUrl, { protocol: 2 })
registerScripts(redis)
afterAll(async () => {
  redis.disconnect()
  await deleteKeysWithPrefix(prefix)
})

/** A lease book of one instance on the shared Redis, counting the round trips it makes. */
const instance = () => {
  const fromRedis = leaseFromRedis(redis)
  const trips = { count: 0 }
  const lease: LeaseRequests = (key, size, windowMs) => {
    trips.count++
    return fromRedis(key, size, windowMs)
  }
  return { leases: makeRateLimitLeases(lease), trips }
}

const admitted = (counts: ReadonlyArray<{ current: number }>, max: number) => counts.filter((c) => c.current <= max)

describe("rate-limit leases", () => {
  it("ask Redis once per hundredth of a large limit, numbering every request once", async () => {
    const { leases, trips } = instance()
    const key = `${prefix}large`
    const max = 100_000
    const counts = []
    for (let i = 0; i < 2500; i++) counts.push(await leases.count(key, 60_000, max))
    expect(leaseSizeOf(max)).toBe(1000)
    expect(trips.count).toBe(3)
    expect(counts.map((c) => c.current)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1))
    expect(counts.every((c) => c.ttl > 0 && c.ttl <= 60_000)).toBe(true)
    expect(Number(await redis.get(key))).toBe(3000)
  })

  it("let two instances together admit no more than the limit, each request numbered once", async () => {
    const a = instance()
    const b = instance()
    const key = `${prefix}shared`
    const counts = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).leases.count(key, 60_000, 5)))
    const numbers = admitted(counts, 5).map((c) => c.current).sort()
    expect(numbers).toEqual([1, 2, 3, 4, 5])
    // Requests waiting for a lease share the next one: far fewer round trips than requests.
    expect(a.trips.count + b.trips.count).toBeLessThan(40)
  })

  it("refuse the rest of a spent window without asking Redis, and admit again in the next window", async () => {
    const { leases, trips } = instance()
    const key = `${prefix}spent`
    const first = await Promise.all(Array.from({ length: 5 }, () => leases.count(key, 300, 3)))
    expect(admitted(first, 3)).toHaveLength(3)
    const tripsWhenSpent = trips.count
    const refused = await Promise.all(Array.from({ length: 20 }, () => leases.count(key, 300, 3)))
    expect(admitted(refused, 3)).toHaveLength(0)
    expect(refused.every((c) => c.ttl > 0 && c.ttl <= 300)).toBe(true)
    expect(trips.count).toBe(tripsWhenSpent)

    while ((await redis.pttl(key)) !== -2) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await leases.count(key, 300, 3)).toMatchObject({ current: 1 })
  })

  it("fail every waiting request when Redis cannot be asked", async () => {
    const offline = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false })
    registerScripts(offline)
    const broken = makeRateLimitLeases(leaseFromRedis(offline))
    const results = await Promise.allSettled([broken.count(`${prefix}broken`, 1000, 5), broken.count(`${prefix}broken`, 1000, 5)])
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"])
  })
})
