import { spawn, type ChildProcess } from "node:child_process"
import { randomUUID } from "node:crypto"
import { createRequire } from "node:module"
import type { Cluster, Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Cause, Effect, Exit, Layer, ManagedRuntime, Scope } from "effect"
import { type CommitRequest, EventStore, type NewEvent } from "../../src/infra/EventStore.ts"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { RedisClient } from "../../src/infra/RedisClient.ts"
import { type LogEntry, ShardLogReader } from "../../src/infra/ShardLogReader.ts"
import { StoreSettings } from "../../src/infra/StoreSettings.ts"
import { compareStreamIds } from "../../src/infra/streamIds.ts"
import { freePort } from "../support/process.ts"
import { deleteKeysWithPrefix, storeLayer, testPrefix } from "../support/redis.ts"
import { storeSettingsLayer } from "../support/settings.ts"
import { type RedisCluster, startRedisCluster } from "../support/redisCluster.ts"

// cluster-key-slot ships no types; it is the slot function ioredis routes with.
const clusterKeySlot = createRequire(import.meta.url)("cluster-key-slot") as (key: string) => number

const settings = {
  shardCount: 8,
  sessionTtlSeconds: 1000,
  endedSessionTtlSeconds: 100,
  idempotencyTtlSeconds: 5000
}
const prefix = testPrefix("event-store")
const runtime = ManagedRuntime.make(storeLayer(prefix, settings))
const keys = makeKeySchema({ keyPrefix: prefix, shardCount: settings.shardCount })

afterAll(async () => {
  await runtime.dispose()
  await deleteKeysWithPrefix(prefix)
})

const run = <A, E>(effect: Effect.Effect<A, E, EventStore | RedisClient | StoreSettings>) => runtime.runPromise(effect)
const store = () => run(Effect.service(EventStore))
const raw = async () => (await run(Effect.service(RedisClient))).connection

const event = (version: number, type = "CYCLE_SWITCHED"): NewEvent => ({
  type,
  version,
  at: 1_700_000_000_000 + version,
  payload: JSON.stringify({ n: version })
})

const request = (sessionId: string, expectedVersion: number, count = 1, overrides: Partial<CommitRequest> = {}) => {
  const state = overrides.state === undefined ? JSON.stringify({ version: expectedVersion + count }) : overrides.state
  const events = Array.from({ length: count }, (_, i) => event(expectedVersion + i + 1))
  return {
    sessionId,
    expectedVersion,
    events,
    state,
    ended: false,
    deadlineMs: null,
    idempotency: null,
    ...overrides
  } satisfies CommitRequest
}

const commit = async (req: CommitRequest) => run((await store()).commit(req))
const load = async (sessionId: string, idempotencyKey?: string) => run((await store()).load(sessionId, idempotencyKey))
const committed = async (req: CommitRequest) => {
  const outcome = await commit(req)
  if (outcome._tag !== "Committed") throw new Error(`expected Committed, got ${JSON.stringify(outcome)}`)
  return outcome
}
const logEntriesOf = async (sessionId: string) => {
  const entries = await (await raw()).xrange(keys.session(sessionId).log, "-", "+")
  return entries.filter(([, fields]) => fields[1] === sessionId)
}
const keyLengths = async (sessionId: string) => {
  const redis = await raw()
  const k = keys.session(sessionId)
  return { index: await redis.zcard(k.index), log: await redis.xlen(k.log) }
}
/** The session index, oldest first: each event id and its version. */
const indexOf = async (sessionId: string) => {
  const flat = await (await raw()).zrange(keys.session(sessionId).index, "0", "-1", "WITHSCORES")
  return Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], Number(flat[2 * i + 1])])
}

describe("EventStore commit/load", () => {
  it("round-trips state, version and lastEventId; versions step by one", async () => {
    const id = randomUUID()
    const first = await committed(request(id, 0))
    expect(first.version).toBe(1)
    expect(first.eventIds).toHaveLength(1)

    const loaded = await load(id)
    expect(loaded).toMatchObject({ state: JSON.stringify({ version: 1 }), version: 1, lastEventId: first.eventIds[0] })
    expect(loaded.idempotent).toBeNull()
    expect(Number.isInteger(loaded.serverTimeMs)).toBe(true)
    expect(Math.abs(loaded.serverTimeMs - Date.now())).toBeLessThan(1000)

    const second = await committed(request(id, 1, 2))
    expect(second.version).toBe(3)
    expect(second.eventIds).toHaveLength(2)
    expect(await load(id)).toMatchObject({ version: 3, lastEventId: second.eventIds[1] })
  })

  it("a missing session loads as null / 0", async () => {
    expect(await load(randomUUID(), "some-key")).toMatchObject({
      state: null,
      version: 0,
      lastEventId: null,
      idempotent: null
    })
  })

  it("a stale expectedVersion conflicts with the current version and writes nothing", async () => {
    const id = randomUUID()
    await committed(request(id, 0))
    await committed(request(id, 1))
    const before = await keyLengths(id)
    const snapshotBefore = await load(id)

    expect(await commit(request(id, 1, 1, { deadlineMs: 123 }))).toEqual({ _tag: "Conflict", currentVersion: 2 })
    expect(await keyLengths(id)).toEqual(before)
    expect(await load(id)).toMatchObject({ state: snapshotBefore.state, version: 2, lastEventId: snapshotBefore.lastEventId })
    expect(await (await raw()).zscore(keys.session(id).deadlines, id)).toBeNull()
  })

  it("a create (expectedVersion 0) on an existing session conflicts", async () => {
    const id = randomUUID()
    await committed(request(id, 0))
    expect(await commit(request(id, 0))).toEqual({ _tag: "Conflict", currentVersion: 1 })
  })

  it("rejects misnumbered events as a defect, before any round trip", async () => {
    const id = randomUUID()
    const exit = await runtime.runPromiseExit(
      Effect.flatMap(Effect.service(EventStore), (s) => s.commit({ ...request(id, 0), events: [event(2)] }))
    )
    expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
    expect((await load(id)).version).toBe(0)
  })
})

describe("EventStore commit on a basis that may be stale", () => {
  const redisNowMs = async () => {
    const [seconds, micros] = await (await raw()).time()
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
  }
  const unchangedBy = async (id: string, attempt: () => Promise<unknown>) => {
    const before = { lengths: await keyLengths(id), snapshot: await load(id) }
    const outcome = await attempt()
    expect(await keyLengths(id)).toEqual(before.lengths)
    expect(await load(id)).toMatchObject({ version: before.snapshot.version, lastEventId: before.snapshot.lastEventId })
    return outcome
  }

  it("answers Stale when the version matches but the last event id does not, and writes nothing", async () => {
    const id = randomUUID()
    const first = await committed(request(id, 0))
    expect(await unchangedBy(id, () => commit(request(id, 1, 1, { expectedLastEventId: "1-1" })))).toEqual({ _tag: "Stale" })
    expect((await committed(request(id, 1, 1, { expectedLastEventId: first.eventIds[0] }))).version).toBe(2)
  })

  it("tells a session deleted and created again under the same id from the one the events were decided on", async () => {
    const id = randomUUID()
    const original = await committed(request(id, 0))
    await committed(request(id, 1, 1, { state: null }))
    await committed(request(id, 0))
    expect(await unchangedBy(id, () => commit(request(id, 1, 1, { expectedLastEventId: original.eventIds[0] })))).toEqual({
      _tag: "Stale"
    })
  })

  it("numbers a session created again under the same id after the deleted one, even within one millisecond", async () => {
    for (let round = 0; round < 10; round++) {
      const id = randomUUID()
      // Sent without waiting, the three run back to back in Redis, most often within one millisecond.
      const [original, deleted, recreated] = await Promise.all([
        committed(request(id, 0)),
        committed(request(id, 1, 1, { state: null })),
        committed(request(id, 0))
      ])
      expect(compareStreamIds(deleted.eventIds[0]!, original.eventIds[0]!)).toBeGreaterThan(0)
      expect(compareStreamIds(recreated.eventIds[0]!, deleted.eventIds[0]!)).toBeGreaterThan(0)
      expect((await run((await store()).readEvents(id))).map((e) => e.id)).toEqual(recreated.eventIds)
    }
  })

  it("answers Stale for a decision time after Redis's now, or lagging it by more than 50 ms", async () => {
    const id = randomUUID()
    const first = await committed(request(id, 0))
    const basis = { expectedLastEventId: first.eventIds[0] }
    const ahead = (await redisNowMs()) + 5_000
    expect(await unchangedBy(id, () => commit(request(id, 1, 1, { ...basis, decidedAtMs: ahead })))).toEqual({ _tag: "Stale" })
    const lagging = (await redisNowMs()) - 1_000
    expect(await unchangedBy(id, () => commit(request(id, 1, 1, { ...basis, decidedAtMs: lagging })))).toEqual({ _tag: "Stale" })
    expect((await committed(request(id, 1, 1, { ...basis, decidedAtMs: await redisNowMs() }))).version).toBe(2)
  })

  it("answers Stale for a decision time before the last commit, so event times never run backwards", async () => {
    const id = randomUUID()
    await committed(request(id, 0))
    // A last commit stamped 10 s ahead of Redis's clock, as after a clock step back on the Redis host.
    const future = `${(await redisNowMs()) + 10_000}-0`
    await (await raw()).hset(keys.session(id).snapshot, "e", future)
    const outcome = await commit(request(id, 1, 1, { expectedLastEventId: future, decidedAtMs: await redisNowMs() }))
    expect(outcome).toEqual({ _tag: "Stale" })
    expect((await load(id)).version).toBe(1)
  })
})

describe("EventStore log and index", () => {
  it("appends each event whole to the shard log and its id, scored by its version, to the session index", async () => {
    const id = randomUUID()
    const { eventIds } = await committed(request(id, 0, 2))

    expect(await indexOf(id)).toEqual([[eventIds[0], 1], [eventIds[1], 2]])

    const log = await logEntriesOf(id)
    expect(log.map(([logId]) => logId)).toEqual(eventIds)
    expect(log[1]?.[1]).toEqual([
      "sid", id, "v", "2", "t", "CYCLE_SWITCHED", "at", String(event(2).at), "p", event(2).payload,
      "c", eventIds[0], "d", ""
    ])
  })

  it("keeps in the session index the events of the resume window, trimming at most 4 more than it adds per commit", async () => {
    const windowMs = 1000
    const windowed = ManagedRuntime.make(storeLayer(prefix, { ...settings, resumeWindowMs: windowMs }))
    try {
      const id = randomUUID()
      const commitIn = (req: CommitRequest) => windowed.runPromise(Effect.flatMap(Effect.service(EventStore), (s) => s.commit(req)))
      expect(await commitIn(request(id, 0, 20))).toMatchObject({ _tag: "Committed", version: 20 })
      await new Promise((resolve) => setTimeout(resolve, windowMs + 100))
      const recent: Array<string> = []
      const sizes: Array<number> = []
      for (let version = 21; version <= 26; version++) {
        const outcome = await commitIn(request(id, version - 1, 1))
        if (outcome._tag !== "Committed") throw new Error(`commit of version ${version}: ${outcome._tag}`)
        recent.push(...outcome.eventIds)
        sizes.push((await indexOf(id)).length)
      }
      // Each commit removes up to 5 of the 20 older events and adds its own: the backlog drains in 4.
      expect(sizes).toEqual([16, 12, 8, 4, 5, 6])
      expect(await indexOf(id)).toEqual(recent.map((eventId, i) => [eventId, 21 + i]))
    } finally {
      await windowed.dispose()
    }
  })

  it("readEvents returns events oldest first; afterVersion is exclusive; count limits", async () => {
    const id = randomUUID()
    const { eventIds } = await committed(request(id, 0, 3))
    const s = await store()

    const all = await run(s.readEvents(id))
    expect(all).toEqual([1, 2, 3].map((v, i) => ({
      id: eventIds[i],
      version: v,
      type: "CYCLE_SWITCHED",
      at: event(v).at,
      payload: event(v).payload
    })))
    expect((await run(s.readEvents(id, { afterVersion: 1 }))).map((e) => e.version)).toEqual([2, 3])
    expect(await run(s.readEvents(id, { afterVersion: 3 }))).toEqual([])
    expect((await run(s.readEvents(id, { count: 2 }))).map((e) => e.version)).toEqual([1, 2])
    expect(await run(s.readEvents(randomUUID()))).toEqual([])
  })
})

describe("EventStore idempotency", () => {
  it("replays the first record for a repeated key and appends nothing", async () => {
    const id = randomUUID()
    await committed(request(id, 0))
    const idempotency = { key: "req-1", fingerprint: "sha-abc", body: "{\"data\":1}" }
    const first = await committed(request(id, 1, 2, { idempotency }))
    const lengths = await keyLengths(id)

    const again = await commit(request(id, 3, 1, { idempotency: { ...idempotency, fingerprint: "other", body: "x" } }))
    const record = { fingerprint: "sha-abc", lastEventId: first.eventIds[1], body: "{\"data\":1}" }
    expect(again).toEqual({ _tag: "Replayed", record })
    expect(await keyLengths(id)).toEqual(lengths)
    expect((await load(id)).version).toBe(3)

    expect((await load(id, "req-1")).idempotent).toEqual(record)
    expect((await load(id, "req-2")).idempotent).toBeNull()
    expect((await load(id)).idempotent).toBeNull()
    const ttl = await (await raw()).pttl(keys.session(id).idempotency("req-1"))
    expect(Math.abs(ttl - settings.idempotencyTtlSeconds * 1000)).toBeLessThan(2000)
  })
})

describe("EventStore delete", () => {
  it("removes the snapshot and deadline, keeps the index readable, and a re-create starts clean", async () => {
    const id = randomUUID()
    const k = keys.session(id)
    await committed(request(id, 0, 1, { deadlineMs: 1_800_000_000_000 }))
    const { eventIds } = await committed(request(id, 1, 1, { state: null, deadlineMs: 1_800_000_000_000 }))

    expect(await load(id)).toMatchObject({ state: null, version: 0, lastEventId: null })
    const redis = await raw()
    expect(await redis.exists(k.snapshot)).toBe(0)
    expect(await redis.zscore(k.deadlines, id)).toBeNull()
    const s = await store()
    expect((await run(s.readEvents(id))).map((e) => e.id)).toHaveLength(2)
    expect((await run(s.readEvents(id))).at(-1)?.id).toBe(eventIds[0])
    expect(Math.abs(await redis.pttl(k.index) - settings.endedSessionTtlSeconds * 1000)).toBeLessThan(2000)

    const recreated = await committed(request(id, 0))
    expect(recreated.version).toBe(1)
    expect((await run(s.readEvents(id))).map((e) => e.id)).toEqual(recreated.eventIds)
  })
})

describe("EventStore TTLs and deadlines", () => {
  const pttls = async (sessionId: string) => {
    const redis = await raw()
    const k = keys.session(sessionId)
    return [await redis.pttl(k.snapshot), await redis.pttl(k.index)]
  }
  const near = (actualMs: number, expectedSeconds: number) =>
    expect(Math.abs(actualMs - expectedSeconds * 1000)).toBeLessThan(2000)

  it("applies the live TTL, then the ended TTL once the session ended", async () => {
    const id = randomUUID()
    await committed(request(id, 0))
    for (const ttl of await pttls(id)) near(ttl, settings.sessionTtlSeconds)

    await committed(request(id, 1, 1, { ended: true }))
    for (const ttl of await pttls(id)) near(ttl, settings.endedSessionTtlSeconds)
    expect((await load(id)).version).toBe(2)
  })

  it("sets, moves and removes the deadline score", async () => {
    const id = randomUUID()
    const deadlines = keys.session(id).deadlines
    const redis = await raw()
    await committed(request(id, 0, 1, { deadlineMs: 1_700_000_060_000 }))
    expect(await redis.zscore(deadlines, id)).toBe("1700000060000")
    await committed(request(id, 1, 1, { deadlineMs: 1_700_000_090_000 }))
    expect(await redis.zscore(deadlines, id)).toBe("1700000090000")
    await committed(request(id, 2, 1, { deadlineMs: null }))
    expect(await redis.zscore(deadlines, id)).toBeNull()
  })
})

describe("key schema", () => {
  it("puts every key of a session, its shard log, feed channel and deadline set in one cluster slot", () => {
    const schema = makeKeySchema({ keyPrefix: "sk:", shardCount: 16 })
    const shardsSeen = new Set<number>()
    for (let i = 0; i < 500; i++) {
      const k = schema.session(randomUUID())
      shardsSeen.add(k.shard)
      const slots = new Set(
        [k.snapshot, k.index, k.tombstone, k.log, k.feed, k.deadlines, k.idempotency(""), k.idempotency(randomUUID())].map(clusterKeySlot)
      )
      expect(slots.size).toBe(1)
      expect(clusterKeySlot(schema.shard(k.shard).log)).toBe([...slots][0])
    }
    expect(shardsSeen.size).toBe(16)
  })

  it("shards by FNV-1a 32-bit of the id", () => {
    const schema = makeKeySchema({ keyPrefix: "sk:", shardCount: 1000 })
    // FNV-1a("a") = 0xe40c292c, FNV-1a("foobar") = 0xbf9cf968
    expect(schema.shardOf("a")).toBe(0xe40c292c % 1000)
    expect(schema.shardOf("foobar")).toBe(0xbf9cf968 % 1000)
    expect(schema.session("a").snapshot).toBe(`sk:{${0xe40c292c % 1000}}:snap:a`)
  })

  it("refuses a prefix with braces", async () => {
    const exit = await Effect.runPromiseExit(Layer.build(storeSettingsLayer({ keyPrefix: "sk:{x}:" })).pipe(Effect.scoped))
    expect(Exit.isFailure(exit)).toBe(true)
  })
})

describe("EventStore concurrency", () => {
  it("lets exactly one of 50 parallel commits with the same expectedVersion win", async () => {
    const id = randomUUID()
    await committed(request(id, 0))
    const s = await store()
    const outcomes = await run(Effect.all(
      Array.from({ length: 50 }, () => s.commit(request(id, 1))),
      { concurrency: "unbounded" }
    ))
    expect(outcomes.filter((o) => o._tag === "Committed")).toHaveLength(1)
    expect(outcomes.filter((o) => o._tag === "Conflict")).toEqual(
      Array.from({ length: 49 }, () => ({ _tag: "Conflict", currentVersion: 2 }))
    )
    expect((await keyLengths(id)).index).toBe(2)
  })
})

describe("RedisClient", () => {
  let ownServer: ChildProcess | undefined
  afterAll(() => {
    ownServer?.kill("SIGKILL")
  })

  it("fails to build with RedisUnavailable when Redis is down", async () => {
    const port = await freePort()
    const started = Date.now()
    const exit = await Effect.runPromiseExit(Layer.build(RedisClient.layer(`redis://127.0.0.1:${port}`)).pipe(Effect.scoped))
    expect(Date.now() - started).toBeLessThan(2500)
    expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("RedisUnavailable")
  })

  it("survives a dropped connection and surfaces a dead server as RedisUnavailable within ~2 s", async () => {
    const port = await freePort()
    ownServer = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], { stdio: "ignore" })
    const url = `redis://127.0.0.1:${port}`
    await waitFor(() => Effect.runPromise(Effect.scoped(Layer.build(RedisClient.layer(url)))))
    const client = ManagedRuntime.make(RedisClient.layer(url))
    try {
      const redis = await client.runPromise(Effect.service(RedisClient))
      const connection = redis.connection as Redis

      // A killed connection reconnects; the command issued meanwhile waits in the offline queue.
      const clientId = await connection.client("ID")
      const killer = connection.duplicate()
      await killer.client("KILL", "ID", String(clientId))
      killer.disconnect()
      await client.runPromise(redis.ping)

      ownServer.kill("SIGKILL")
      const started = Date.now()
      const exit = await client.runPromiseExit(redis.ping)
      expect(Date.now() - started).toBeLessThan(2500)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("RedisUnavailable")
    } finally {
      await client.dispose()
    }
  })
})

/** Retries `attempt` every 50 ms until it passes, at most `tries` times. */
const waitFor = async (attempt: () => Promise<unknown>, tries = 50) => {
  for (let i = 0; ; i++) {
    try {
      return await attempt()
    } catch (error) {
      if (i > tries) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

describe("EventStore and ShardLogReader on a 3-node Redis Cluster", () => {
  let servers: RedisCluster | undefined
  let clusterRuntime: ManagedRuntime.ManagedRuntime<EventStore | ShardLogReader | RedisClient | StoreSettings, unknown> | undefined
  const clusterPrefix = testPrefix("event-store-cluster")
  const shardCount = 16
  const clusterKeys = makeKeySchema({ keyPrefix: clusterPrefix, shardCount })

  /** A new session id on every shard, by shard. */
  const sessionPerShard = (store: EventStore["Service"]) => {
    const sessions = new Map<number, string>()
    while (sessions.size < shardCount) {
      const id = randomUUID()
      sessions.set(store.shardOf(id), id)
    }
    return sessions
  }

  beforeAll(async () => {
    // Clients reach every node through a proxy of its own, which can silence the feed connections.
    servers = await startRedisCluster({ proxied: true })
    clusterRuntime = ManagedRuntime.make(
      Layer.mergeAll(EventStore.layer, ShardLogReader.layer({ pingMs: 500 })).pipe(Layer.provideMerge(Layer.mergeAll(
        RedisClient.layerCluster(servers.seeds),
        storeSettingsLayer({ keyPrefix: clusterPrefix, shardCount })
      )))
    )
    await clusterRuntime.runPromise(Effect.flatMap(Effect.service(RedisClient), (r) => r.ping))
  })

  afterAll(async () => {
    await clusterRuntime?.dispose()
    await servers?.stop()
  })

  it("runs load and commit for sessions on every shard without CROSSSLOT", async () => {
    const runtime = clusterRuntime!
    const { store: s, redis } = await runtime.runPromise(
      Effect.all({ store: Effect.service(EventStore), redis: Effect.service(RedisClient) })
    )
    const sessionsByShard = sessionPerShard(s)

    const cluster = redis.connection as Cluster
    const owners = new Set([...sessionsByShard.keys()].map((shard) => cluster.slots[clusterKeySlot(clusterKeys.shard(shard).log)]?.[0]))
    expect(owners.size).toBeGreaterThan(1)

    for (const id of sessionsByShard.values()) {
      const idempotency = { key: "k1", fingerprint: "f1", body: "b1" }
      const outcome = await runtime.runPromise(s.commit(request(id, 0, 2, { deadlineMs: 1_800_000_000_000, idempotency })))
      expect(outcome._tag).toBe("Committed")
      expect(await runtime.runPromise(s.commit(request(id, 2, 1, { idempotency })))).toMatchObject({ _tag: "Replayed" })
      expect(await runtime.runPromise(s.commit(request(id, 1)))).toEqual({ _tag: "Conflict", currentVersion: 2 })
      await runtime.runPromise(s.commit(request(id, 2, 1, { state: null })))
      const loaded = await runtime.runPromise(s.load(id, "k1"))
      expect(loaded).toMatchObject({ version: 0, idempotent: { fingerprint: "f1" } })
      expect(await runtime.runPromise(s.readEvents(id))).toHaveLength(3)
    }
  })

  it("follows the shard logs of every node over their feed channels", async () => {
    const runtime = clusterRuntime!
    const s = await runtime.runPromise(Effect.service(EventStore))
    const sessionsByShard = sessionPerShard(s)
    const seen: Array<LogEntry> = []
    const scope = await runtime.runPromise(Scope.make())
    await runtime.runPromise(
      Effect.flatMap(Effect.service(ShardLogReader), (reader) => reader.listen((entries) => seen.push(...entries))).pipe(Scope.provide(scope))
    )
    for (let version = 1; version <= 3; version++) {
      for (const id of sessionsByShard.values()) {
        expect((await runtime.runPromise(s.commit(request(id, version - 1))))._tag).toBe("Committed")
      }
    }
    await waitFor(async () => expect(seen).toHaveLength(3 * shardCount))
    await runtime.runPromise(Scope.close(scope, Exit.void))
    for (const id of sessionsByShard.values()) {
      expect(seen.filter((e) => e.sessionId === id).map((e) => e.version)).toEqual([1, 2, 3])
    }
    const reader = await runtime.runPromise(Effect.service(ShardLogReader))
    expect((await runtime.runPromise(reader.stats)).catchUps).toBe(0)
  })

  it("reads on, and replaces the feed connections, when they go quiet without closing", async () => {
    const runtime = clusterRuntime!
    const { store: s, reader } = await runtime.runPromise(
      Effect.all({ store: Effect.service(EventStore), reader: Effect.service(ShardLogReader) })
    )
    const seen: Array<LogEntry> = []
    const scope = await runtime.runPromise(Scope.make())
    await runtime.runPromise(reader.listen((entries) => seen.push(...entries)).pipe(Scope.provide(scope)))
    const sessionsByShard = sessionPerShard(s)
    const commitAll = async (version: number) => {
      for (const id of sessionsByShard.values()) {
        expect((await runtime.runPromise(s.commit(request(id, version - 1))))._tag).toBe("Committed")
      }
    }
    const versionsSeen = () => [...sessionsByShard.values()].map((id) => seen.filter((e) => e.sessionId === id).map((e) => e.version))
    const silentBefore = (await runtime.runPromise(reader.stats)).silentFeeds

    // Every node's feed connection still answers nothing and closes nothing: only the logs tell.
    for (const proxy of servers!.proxies) proxy.silenceSubscribers()
    await commitAll(1)
    await waitFor(async () => expect(versionsSeen()).toEqual(Array(shardCount).fill([1])), 100)
    const silentAfter = (await runtime.runPromise(reader.stats)).silentFeeds
    expect(silentAfter).toBeGreaterThan(silentBefore)

    // The replaced connections bring messages again: nothing more is found missing.
    await commitAll(2)
    await waitFor(async () => expect(versionsSeen()).toEqual(Array(shardCount).fill([1, 2])), 100)
    await new Promise((resolve) => setTimeout(resolve, 1200))
    expect((await runtime.runPromise(reader.stats)).silentFeeds).toBe(silentAfter)
    await runtime.runPromise(Scope.close(scope, Exit.void))
  })

  it("reads the logs on once a node's feed connection is replaced, without waiting for that shard's next commit", async () => {
    const runtime = clusterRuntime!
    const redis = await runtime.runPromise(Effect.service(RedisClient))
    const cluster = redis.connection as Cluster
    const seen: Array<LogEntry> = []
    const scope = await runtime.runPromise(Scope.make())
    await runtime.runPromise(
      Effect.flatMap(Effect.service(ShardLogReader), (reader) => reader.listen((entries) => seen.push(...entries))).pipe(Scope.provide(scope))
    )
    // An entry no message announced, as when it was published while a feed connection was down.
    const session = randomUUID()
    const log = clusterKeys.shard(3).log
    const unannounced = await cluster.xadd(log, "*", "sid", session, "v", "1", "t", "TICK", "at", "0", "p", "{}", "c", "0-1", "d", "")
    // Every node's feed connection (the ones in pub/sub mode) goes; the client connects and subscribes again.
    for (const node of cluster.nodes("master")) await node.call("CLIENT", "KILL", "TYPE", "pubsub")
    await waitFor(async () => expect(seen.map((e) => e.logId)).toContain(unannounced))
    await runtime.runPromise(Scope.close(scope, Exit.void))
    expect(seen.filter((e) => e.sessionId === session)).toHaveLength(1)
  })

  it("would catch keys of several slots (the control)", async () => {
    const redis = await clusterRuntime!.runPromise(Effect.service(RedisClient))
    const exit = await clusterRuntime!.runPromiseExit(
      redis.use((connection) => connection.eval("return 1", 2, `${clusterPrefix}a`, `${clusterPrefix}b`))
    )
    expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("CROSSSLOT")
  })
})
