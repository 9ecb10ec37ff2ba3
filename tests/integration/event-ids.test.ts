/**
 * One id per event, the shard-log entry's: how commit-7 chooses it whatever the streams hold (ids of
 * an earlier release's session streams, ids ahead of Redis's clock, streams trimmed empty), and how the
 * event store reads a session's events back through its stream, an index of the log.
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
  return { store, redis, run, commit, keys, ids }
}

const event = (version: number) => ({ type: "CYCLE_SWITCHED", version, at: 1_700_000_000_000 + version, payload: `{"n":${version}}` })
const fieldsOf = (version: number) => ["v", String(version), "t", "CYCLE_SWITCHED", "at", String(event(version).at), "p", event(version).payload]

/** An epoch ms a minute ahead of Redis's clock, as after a clock step back on the Redis host. */
const aheadMs = async (redis: { time: () => Promise<Array<string | number>> }) => {
  const [seconds] = await redis.time()
  return Number(seconds) * 1000 + 60_000
}

describe("commit-7's ids", () => {
  it("are one per event, the same in the session stream and the shard log, and name the session's incarnation", async () => {
    const s = await freshStore()
    const id = randomUUID()
    const created = await s.commit(id, 0, 2)
    const next = await s.commit(id, 2, 1)
    expect(await s.ids(s.keys(id).events)).toEqual([...created, ...next])
    expect(await s.ids(s.keys(id).log)).toEqual([...created, ...next])
    expect(await s.redis.hmget(s.keys(id).snapshot, "e", "c")).toEqual([next[0], created[0]])
  })

  it("follow a session's last id from an earlier release, ahead of Redis's clock, with its events read as they are", async () => {
    const s = await freshStore()
    const id = randomUUID()
    const k = s.keys(id)
    const [first] = await s.commit(id, 0)
    // Version 2 as a release whose session streams made their own ids committed it: the whole event in
    // the session stream, the log entry naming it by field e; its id is a minute ahead of Redis's clock.
    const ahead = await aheadMs(s.redis)
    await s.redis.xadd(k.events, `${ahead}-3`, ...fieldsOf(2))
    await s.redis.xadd(k.log, "*", "sid", id, ...fieldsOf(2), "e", `${ahead}-3`, "c", first!, "d", "")
    await s.redis.hset(k.snapshot, "v", "2", "e", `${ahead}-3`)

    expect(await s.commit(id, 2, 2)).toEqual([`${ahead}-4`, `${ahead}-5`])
    expect(await s.ids(k.events)).toEqual([first, `${ahead}-3`, `${ahead}-4`, `${ahead}-5`])
    expect((await s.ids(k.log)).slice(-2)).toEqual([`${ahead}-4`, `${ahead}-5`])

    const expected = [first!, `${ahead}-3`, `${ahead}-4`, `${ahead}-5`].map((eventId, i) => ({
      id: eventId,
      version: i + 1,
      type: "CYCLE_SWITCHED",
      at: event(i + 1).at,
      payload: event(i + 1).payload
    }))
    expect(await s.run(s.store.readEvents(id))).toEqual(expected)
    expect(await s.run(s.store.readEvents(id, { afterId: first!, count: 2 }))).toEqual(expected.slice(1, 3))
    expect(await s.run(s.store.readLatestEvents(id, 3))).toEqual(expected.slice(1).reverse())
  })

  it("follow the larger of the log's tip and the session's last id within one millisecond", async () => {
    const s = await freshStore()
    const ms = await aheadMs(s.redis)
    const behind = randomUUID()
    await s.commit(behind, 0)
    // Another session's entry tops the log at <ms>-7; this session's last id (an earlier release's) is <ms>-3.
    await s.redis.xadd(s.keys(behind).log, `${ms}-7`, "sid", randomUUID(), ...fieldsOf(1), "c", `${ms}-7`, "d", "")
    await s.redis.xadd(s.keys(behind).events, `${ms}-3`, ...fieldsOf(2))
    await s.redis.hset(s.keys(behind).snapshot, "v", "2", "e", `${ms}-3`)
    expect(await s.commit(behind, 2)).toEqual([`${ms}-8`])

    const ahead = randomUUID()
    expect(await s.commit(ahead, 0)).toEqual([`${ms}-9`])
    await s.redis.xadd(s.keys(ahead).events, `${ms}-20`, ...fieldsOf(2))
    await s.redis.hset(s.keys(ahead).snapshot, "v", "2", "e", `${ms}-20`)
    expect(await s.commit(ahead, 2)).toEqual([`${ms}-21`])
  })

  it("follow the last id of a session stream trimmed empty when the session is created again", async () => {
    const s = await freshStore()
    const id = randomUUID()
    const ahead = await aheadMs(s.redis)
    // A deleted session's stream, from an earlier release, emptied: only its last id remains.
    await s.redis.xadd(s.keys(id).events, `${ahead}-0`, ...fieldsOf(1))
    await s.redis.xtrim(s.keys(id).events, "MAXLEN", 0)
    expect(await s.commit(id, 0)).toEqual([`${ahead}-1`])
    expect(await s.ids(s.keys(id).events)).toEqual([`${ahead}-1`])
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

describe("reading a session's events through its stream", () => {
  it("starts after the last event whose log entry was trimmed, earlier releases' entries included", async () => {
    const s = await freshStore()
    const id = randomUUID()
    const k = s.keys(id)
    // Version 1 from an earlier release (the whole event in the session stream), then versions 2 to 5.
    const old = await s.redis.xadd(k.events, "*", ...fieldsOf(1))
    await s.redis.xadd(k.log, "*", "sid", id, ...fieldsOf(1), "e", old!, "c", old!, "d", "")
    await s.redis.hset(k.snapshot, "v", "1", "e", old!, "c", old!)
    const ids: Array<string> = []
    for (let version = 2; version <= 5; version++) ids.push(...await s.commit(id, version - 1))
    // The log loses versions 1 and 2 (audited and out of the resume window); the session stream keeps their ids.
    await s.redis.xtrim(k.log, "MINID", ids[1]!)
    expect(await s.ids(k.events)).toEqual([old, ...ids])

    const versions = (events: ReadonlyArray<{ readonly version: number }>) => events.map((e) => e.version)
    expect(versions(await s.run(s.store.readEvents(id)))).toEqual([3, 4, 5])
    expect(versions(await s.run(s.store.readEvents(id, { count: 2 })))).toEqual([3, 4])
    expect(versions(await s.run(s.store.readEvents(id, { afterId: old!, count: 1 })))).toEqual([3])
    expect(versions(await s.run(s.store.readEvents(id, { afterId: ids[1]! })))).toEqual([4, 5])
    expect(versions(await s.run(s.store.readLatestEvents(id, 2)))).toEqual([5, 4])
    expect(versions(await s.run(s.store.readLatestEvents(id, 10)))).toEqual([5, 4, 3])
    expect((await s.run(s.store.readEvents(id))).map((e) => e.id)).toEqual(ids.slice(1))
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
