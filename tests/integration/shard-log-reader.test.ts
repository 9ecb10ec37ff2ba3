/** The shard log reader against a Redis of its own, which the last test crashes and restarts mid-stream. */
import { Effect, Exit, Layer, ManagedRuntime, Scope } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll, expect, it } from "vitest"
import { EventStore } from "../../src/infra/EventStore.ts"
import { RedisClient } from "../../src/infra/RedisClient.ts"
import { type LogEntry, ShardLogReader } from "../../src/infra/ShardLogReader.ts"
import { uuid } from "../support/app.ts"
import { waitUntil } from "../support/instances.ts"
import { type OwnRedis, startOwnRedis } from "../support/redisServer.ts"
import { storeSettingsLayer } from "../support/settings.ts"

const SHARDS = 4
const prefix = "reader:"
let redis: OwnRedis
let runtime: ManagedRuntime.ManagedRuntime<ShardLogReader | EventStore, unknown>

beforeAll(async () => {
  redis = await startOwnRedis()
  runtime = ManagedRuntime.make(
    ShardLogReader.layer({ pingMs: 200 }).pipe(
      Layer.provideMerge(EventStore.layer),
      Layer.provideMerge(Layer.mergeAll(RedisClient.layer(redis.url), storeSettingsLayer({ keyPrefix: prefix, shardCount: SHARDS })))
    )
  )
  await runtime.runPromise(Effect.service(ShardLogReader))
})
afterAll(async () => {
  await runtime.dispose()
  await redis.stop()
})

/** Appends version `version` of a session; the session's version afterwards, or null when Redis did not answer. */
const commit = (sessionId: string, version: number): Promise<number | null> =>
  runtime.runPromise(Effect.gen(function*() {
    const store = yield* EventStore
    const outcome = yield* store.commit({
      sessionId,
      expectedVersion: version - 1,
      events: [{ type: "TICK", version, at: Date.now(), payload: JSON.stringify({ version }) }],
      state: JSON.stringify({ version }),
      ended: false,
      // An instant long past: the entry carries it as the session's next due instant.
      deadlineMs: version,
      idempotency: null
    })
    return outcome._tag === "Committed" ? outcome.version : outcome._tag === "Conflict" ? outcome.currentVersion : null
  })).catch(() => null)

const readerStats = () => runtime.runPromise(Effect.flatMap(Effect.service(ShardLogReader), (reader) => reader.stats))

/** Registers a listener until the returned function closes it. */
const listen = async (listener: (entries: ReadonlyArray<LogEntry>) => void) => {
  const scope = await runtime.runPromise(Scope.make())
  await runtime.runPromise(Effect.flatMap(Effect.service(ShardLogReader), (r) => r.listen(listener)).pipe(Scope.provide(scope)))
  return () => runtime.runPromise(Scope.close(scope, Exit.void))
}

const logEntries = async () => {
  const client = new Redis(redis.url, { protocol: 2 })
  try {
    const logs = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => client.xrange(`${prefix}{${shard}}:log`, "-", "+")))
    return logs.flat().map(([id, fields]) => `${id} ${fields[fields.indexOf("sid") + 1]} v${fields[fields.indexOf("v") + 1]}`)
  } finally {
    client.disconnect()
  }
}

const describeEntry = (e: LogEntry) => `${e.logId} ${e.sessionId} v${e.version}`

it("delivers every entry committed after it started, once, in log order, with its event and the session's next due instant", async () => {
  // An entry the reader delivered before the listener came is not delivered to it.
  const before = uuid()
  const deliveredBefore = (await readerStats()).delivered
  await commit(before, 1)
  while ((await readerStats()).delivered === deliveredBefore) await new Promise((resolve) => setTimeout(resolve, 10))
  const seen: Array<LogEntry> = []
  const stop = await listen((entries) => seen.push(...entries))
  const sessions = Array.from({ length: 8 }, () => uuid())
  for (let version = 1; version <= 5; version++) {
    expect(await Promise.all(sessions.map((s) => commit(s, version)))).toEqual(sessions.map(() => version))
  }
  await waitUntil("every entry arrived", () => seen.length === 40)
  await stop()

  for (const session of sessions) {
    const mine = seen.filter((e) => e.sessionId === session)
    expect(mine.map((e) => e.version)).toEqual([1, 2, 3, 4, 5])
    expect(mine.map((e) => JSON.parse(e.payload))).toEqual([1, 2, 3, 4, 5].map((version) => ({ version })))
    expect(mine.map((e) => e.dueAt)).toEqual([1, 2, 3, 4, 5])
    expect(mine.every((e) => e.eventId === e.logId)).toBe(true)
  }
  expect(seen.some((e) => e.sessionId === before)).toBe(false)
})

it("keeps delivering to the other listeners when one throws", async () => {
  const seen: Array<LogEntry> = []
  const stopBad = await listen(() => {
    throw new Error("listener bug")
  })
  const stopGood = await listen((entries) => seen.push(...entries))
  const session = uuid()
  for (let version = 1; version <= 3; version++) expect(await commit(session, version)).toBe(version)
  await waitUntil("every entry arrived", () => seen.length === 3)
  expect(seen.map((e) => e.version)).toEqual([1, 2, 3])
  await stopBad()
  await stopGood()
})

it("reads the log when a message did not follow the last entry it delivered", async () => {
  const seen: Array<LogEntry> = []
  const stop = await listen((entries) => seen.push(...entries))
  const session = uuid()
  expect(await commit(session, 1)).toBe(1)
  await waitUntil("the first entry arrived", () => seen.length === 1)
  // An entry appended without its message, as if the message had been lost.
  const client = new Redis(redis.url, { protocol: 2 })
  const log = `${prefix}{${seen[0]!.shard}}:log`
  const unannounced = await client.xadd(log, "*", "sid", session, "v", "99", "t", "TICK", "at", "0", "p", "{}", "c", "0-1", "d", "")
  client.disconnect()
  const catchUps = (await readerStats()).catchUps
  expect(await commit(session, 2)).toBe(2)
  await waitUntil("both entries arrived", () => seen.length === 3)
  await stop()
  expect(seen.map((e) => e.logId)[1]).toBe(unannounced)
  expect(seen.map((e) => e.version)).toEqual([1, 99, 2])
  expect((await readerStats()).catchUps).toBe(catchUps + 1)
})

it("takes a message it cannot read as a gap and reads the log", async () => {
  const seen: Array<LogEntry> = []
  const stop = await listen((entries) => seen.push(...entries))
  const catchUps = (await readerStats()).catchUps
  const client = new Redis(redis.url, { protocol: 2 })
  await client.spublish(`${prefix}{0}:feed`, "not a commit")
  client.disconnect()
  for (const deadline = Date.now() + 5000; (await readerStats()).catchUps === catchUps;) {
    if (Date.now() > deadline) throw new Error("timed out waiting until the log was read")
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const session = uuid()
  expect(await commit(session, 1)).toBe(1)
  await waitUntil("the entry arrived", () => seen.length === 1)
  await stop()
  expect(seen[0]!.sessionId).toBe(session)
})

it("misses nothing and repeats nothing when its feed connection is killed mid-stream", async () => {
  const seen: Array<LogEntry> = []
  const stop = await listen((entries) => seen.push(...entries))
  const sessions = Array.from({ length: 4 }, () => uuid())
  const admin = new Redis(redis.url, { protocol: 2 })
  // The reader's feed connection: the one client with shard-channel subscriptions. After a kill it
  // comes back within the reconnect delay; the next kill waits for it.
  const feedConnectionId = async () => {
    const clients = (await admin.call("CLIENT", "LIST")) as string
    return / id=(\d+)/.exec(` ${clients.split("\n").find((line) => / ssub=[1-9]/.test(line))}`)?.[1]
  }
  const killFeedConnection = async () => {
    let id = await feedConnectionId()
    for (const deadline = Date.now() + 5000; id === undefined && Date.now() < deadline; id = await feedConnectionId()) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(id).toBeDefined()
    await admin.call("CLIENT", "KILL", "ID", id!)
  }
  const catchUps = (await readerStats()).catchUps
  for (let version = 1; version <= 30; version++) {
    expect(await Promise.all(sessions.map((s) => commit(s, version)))).toEqual(sessions.map(() => version))
    if (version % 10 === 5) await killFeedConnection()
  }
  admin.disconnect()
  await waitUntil("every entry arrived", () => seen.length === 120)
  await new Promise((resolve) => setTimeout(resolve, 200))
  await stop()
  for (const session of sessions) {
    expect(seen.filter((e) => e.sessionId === session).map((e) => e.version)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
  }
  expect((await readerStats()).catchUps).toBeGreaterThan(catchUps)
})

it("misses nothing and repeats nothing across a Redis crash and restart", async () => {
  const seen: Array<LogEntry> = []
  const earlier = new Set(await logEntries())
  const stop = await listen((entries) => seen.push(...entries))
  const sessions = Array.from({ length: 6 }, () => uuid())
  const versions = new Map(sessions.map((s) => [s, 0]))
  let writing = true
  let failures = 0
  // Writers keep committing through the outage. A commit whose answer was lost may still have been
  // applied: the conflict that follows tells the writer its real version.
  const writers = sessions.map(async (session) => {
    while (writing) {
      const version = await commit(session, versions.get(session)! + 1)
      if (version === null) failures++
      else versions.set(session, version)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })
  await waitUntil("entries flow", () => seen.length >= 100)
  // Longer than the client's offline queue waits, so commits fail as well as reads.
  await redis.crashAndRestart(2000)
  const afterRestart = seen.length
  await waitUntil("entries flow again", () => seen.length >= afterRestart + 100, 20_000)
  writing = false
  await Promise.all(writers)

  const inLog = (await logEntries()).filter((entry) => !earlier.has(entry))
  await waitUntil("every entry arrived", () => seen.length >= inLog.length)
  await stop()
  // The outage really happened while commits were flowing, and the reader had to read the logs.
  expect(failures).toBeGreaterThan(0)
  expect((await readerStats()).catchUps).toBeGreaterThan(0)
  expect(seen.map(describeEntry).sort()).toEqual([...inLog].sort())
  for (const session of sessions) {
    const mine = seen.filter((e) => e.sessionId === session).map((e) => e.version)
    expect(mine).toEqual(Array.from({ length: mine.length }, (_, i) => i + 1))
  }
})
