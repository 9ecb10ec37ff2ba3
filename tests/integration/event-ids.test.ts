/**
 * One id per event, the shard-log entry's: how commit-7 chooses it whatever Redis holds (ids of an
 * earlier release's session streams, ids ahead of Redis's clock, a log trimmed empty, a deleted
 * session's tombstone), and how the event store reads a session's events back through its index.
 */
import { randomUUID } from "node:crypto"
import { afterAll, describe, expect, it } from "vitest"
import { Effect, ManagedRuntime } from "effect"
import { type CommitRequest, EventStore } from "../../src/infra/EventStore.ts"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { RedisClient } from "../../src/infra/RedisClient.ts"
import { deleteKeysWithPrefix, storeLayer, testPrefix } from "../support/redis.ts"

const prefixes: Array<string> = []
const runtimes: Array<ManagedRuntime.ManagedRuntime<EventStore | RedisClient, unknown>> = []

afterAll(async () => {
  await Promise.all(runtimes.map((runtime) => runtime.dispose()))
  await Promise.all(prefixes.map(deleteKeysWithPrefix))
})

/** An event store on a key prefix of its own, one shard: each test has a shard log nobody else writes. */
const freshStore = async () => {
  const prefix = testPrefix("event-ids")
  const runtime = ManagedRuntime.make(storeLayer(prefix, { shardCount: 1 }))
  prefixes.push(prefix)
  runtimes.push(runtime)
  const store = await runtime.runPromise(Effect.service(EventStore))
  const redis = (await runtime.runPromise(Effect.service(RedisClient))).connection
  const run = <A, E>(effect: Effect.Effect<A, E>) => runtime.runPromise(effect)
  const commit = async (sessionId: string, expectedVersion: number, count = 1, overrides: Partial<CommitRequest> = {}) => {
    const outcome = await run(store.commit({
      sessionId,
      expectedVersion,
      events: Array.from({ length: count }, (_, i) => event(expectedVersion + i + 1)),
      state: JSON.stringify({ version: expectedVersion + count }),
      ended: false,
      deadlineMs: null,
      idempotency: null,
      ...overrides
    }))
    if (outcome._tag !== "Committed") throw new Error(`expected Committed, got ${JSON.stringify(outcome)}`)
    return outcome.eventIds
  }
  const keys = (sessionId: string) => makeKeySchema({ keyPrefix: prefix, shardCount: 1 }).session(sessionId)
  const ids = async (key: string) => (await redis.xrange(key, "-", "+")).map(([id]) => id)
  const indexed = (sessionId: string) => redis.zrange(keys(sessionId).index, "0", "-1")
  return { prefix, store, redis, run, commit, keys, ids, indexed }
}

const event = (version: number) => ({ type: "CYCLE_SWITCHED", version, at: 1_700_000_000_000 + version, payload: `{"n":${version}}` })
/** An earlier release's session stream, which held whole events under ids of its own: never touched now. */
const legacyStreamOf = (prefix: string, sessionId: string) => `${prefix}{0}:events:${sessionId}`
const fieldsOf = (version: number) => ["v", String(version), "t", "CYCLE_SWITCHED", "at", String(event(version).at), "p", event(version).payload]

/** An epoch ms a minute ahead of Redis's clock, as after a clock step back on the Redis host. */
const aheadMs = async (redis: { time: () => Promise<Array<string | number>> }) => {
  const [seconds] = await redis.time()
  return Number(seconds) * 1000 + 60_000
}

describe("commit-7's ids", () => {
  it("are one per event, the same in the session index and the shard log, and name the session's incarnation", async () => {
    const s = await freshStore()
    const id = randomUUID()
    const created = await s.commit(id, 0, 2)
    const next = await s.commit(id, 2, 1)
    expect(await s.indexed(id)).toEqual([...created, ...next])
    expect(await s.ids(s.keys(id).log)).toEqual([...created, ...next])
    expect(await s.redis.hmget(s.keys(id).snapshot, "e", "c")).toEqual([next[0], created[0]])
  })

  it("follow a session's last id from an earlier release, ahead of Redis's clock, and leave that release's stream alone", async () => {
    const s = await freshStore()
    const id = randomUUID()
    const k = s.keys(id)
    // Versions 1 and 2 as a release whose session streams made their own ids committed them: the whole
    // events in its session stream, the log entries naming them by field e; ids a minute ahead of Redis's clock.
    const ahead = await aheadMs(s.redis)
    const legacy = legacyStreamOf(s.prefix, id)
    for (const version of [1, 2]) {
      await s.redis.xadd(legacy, `${ahead}-${version + 1}`, ...fieldsOf(version))
      await s.redis.xadd(k.log, "*", "sid", id, ...fieldsOf(version), "e", `${ahead}-${version + 1}`, "c", `${ahead}-2`, "d", "")
    }
    await s.redis.hset(k.snapshot, "v", "2", "e", `${ahead}-3`, "c", `${ahead}-2`)

    expect(await s.commit(id, 2, 2)).toEqual([`${ahead}-4`, `${ahead}-5`])
    expect(await s.indexed(id)).toEqual([`${ahead}-4`, `${ahead}-5`])
    expect((await s.ids(k.log)).slice(-2)).toEqual([`${ahead}-4`, `${ahead}-5`])
    expect(await s.ids(legacy)).toEqual([`${ahead}-2`, `${ahead}-3`])

    // Redis holds the versions the index lists; the earlier ones are the audit's.
    const expected = [3, 4].map((version) => ({
      id: `${ahead}-${version + 1}`,
      version,
      type: "CYCLE_SWITCHED",
      at: event(version).at,
      payload: event(version).payload
    }))
    expect(await s.run(s.store.readEvents(id))).toEqual(expected)
    expect(await s.run(s.store.readEvents(id, { afterVersion: 3 }))).toEqual(expected.slice(1))
    expect(await s.run(s.store.readLatestEvents(id, 3))).toEqual(expected.slice().reverse())
  })

  it("follow the larger of the log's tip and the session's last id within one millisecond", async () => {
    const s = await freshStore()
    const ms = await aheadMs(s.redis)
    const behind = randomUUID()
    await s.commit(behind, 0)
    // Another session's entry tops the log at <ms>-7; this session's last id (an earlier release's) is <ms>-3.
    await s.redis.xadd(s.keys(behind).log, `${ms}-7`, "sid", randomUUID(), ...fieldsOf(1), "c", `${ms}-7`, "d", "")
    await s.redis.hset(s.keys(behind).snapshot, "v", "2", "e", `${ms}-3`)
    expect(await s.commit(behind, 2)).toEqual([`${ms}-8`])

    const ahead = randomUUID()
    expect(await s.commit(ahead, 0)).toEqual([`${ms}-9`])
    await s.redis.hset(s.keys(ahead).snapshot, "v", "2", "e", `${ms}-20`)
    expect(await s.commit(ahead, 2)).toEqual([`${ms}-21`])
  })

  it("follow the id of the event that deleted the session when it is created again", async () => {
    const s = await freshStore()
    const id = randomUUID()
    const [created] = await s.commit(id, 0)
    const [deleted] = await s.commit(id, 1, 1, { state: null })
    expect(await s.redis.get(s.keys(id).tombstone)).toBe(deleted)
    // The deletion's id a minute ahead of Redis's clock, past the log's tip, as after a clock step back.
    const ahead = await aheadMs(s.redis)
    await s.redis.set(s.keys(id).tombstone, `${ahead}-4`)
    expect(await s.indexed(id)).toEqual([created, deleted])

    expect(await s.commit(id, 0)).toEqual([`${ahead}-5`])
    expect(await s.indexed(id)).toEqual([`${ahead}-5`])
    expect(await s.redis.exists(s.keys(id).tombstone)).toBe(0)
  })

  it("follow the last id of a shard log trimmed empty", async () => {
    const s = await freshStore()
    const id = randomUUID()
    const ahead = await aheadMs(s.redis)
    await s.redis.xadd(s.keys(id).log, `${ahead}-0`, "sid", randomUUID(), ...fieldsOf(1), "c", `${ahead}-0`, "d", "")
    await s.redis.xtrim(s.keys(id).log, "MAXLEN", 0)
    expect(await s.commit(id, 0)).toEqual([`${ahead}-1`])
    expect(await s.ids(s.keys(id).log)).toEqual([`${ahead}-1`])
  })
})

describe("reading a session's events through its index", () => {
  it("starts after the last event whose log entry was trimmed", async () => {
    const s = await freshStore()
    const id = randomUUID()
    const k = s.keys(id)
    const ids: Array<string> = []
    for (let version = 1; version <= 5; version++) ids.push(...await s.commit(id, version - 1))
    // The log loses versions 1 and 2 (audited and out of the resume window); the index keeps their ids.
    await s.redis.xtrim(k.log, "MINID", ids[2]!)
    expect(await s.indexed(id)).toEqual(ids)

    const versions = (events: ReadonlyArray<{ readonly version: number }>) => events.map((e) => e.version)
    expect(versions(await s.run(s.store.readEvents(id)))).toEqual([3, 4, 5])
    expect(versions(await s.run(s.store.readEvents(id, { count: 2 })))).toEqual([3, 4])
    expect(versions(await s.run(s.store.readEvents(id, { afterVersion: 1, count: 1 })))).toEqual([3])
    expect(versions(await s.run(s.store.readEvents(id, { afterVersion: 3 })))).toEqual([4, 5])
    expect(versions(await s.run(s.store.readLatestEvents(id, 2)))).toEqual([5, 4])
    expect(versions(await s.run(s.store.readLatestEvents(id, 10)))).toEqual([5, 4, 3])
    expect((await s.run(s.store.readEvents(id))).map((e) => e.id)).toEqual(ids.slice(2))
    expect(await s.run(s.store.lastListedVersion(id))).toBe(5)
  })

  it("finds nothing when every log entry of the stream is gone", async () => {
    const s = await freshStore()
    const id = randomUUID()
    await s.commit(id, 0, 3)
    await s.redis.xtrim(s.keys(id).log, "MAXLEN", 0)
    expect(await s.run(s.store.readEvents(id))).toEqual([])
    expect(await s.run(s.store.readEvents(id, { count: 1 }))).toEqual([])
    expect(await s.run(s.store.readLatestEvents(id, 1))).toEqual([])
  })
})
