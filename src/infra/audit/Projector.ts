import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { Effect, Layer, Schedule, Schema, Semaphore } from "effect"
import { makeKeySchema } from "../keys.ts"
import { gapAfterReset, type LogGap, type LogLook, readLogLook, wasReset } from "../logLook.ts"
import { RedisClient, RedisUnavailable } from "../RedisClient.ts"
import type { RedisConnection } from "../scripts.ts"
import { ServerClock } from "../ServerClock.ts"
import { StoreSettings } from "../StoreSettings.ts"
import {
  decodeAutoClaimReply,
  decodeInfoList,
  decodeReadGroupReply,
  fieldsOf,
  type RawStreamEntry,
  toLogEntry
} from "../streamEntries.ts"
import { compareStreamIds, nextStreamId } from "../streamIds.ts"
import { type AuditSnapshot, batchOf, jobIdOf, type ShardRange } from "./AuditBatch.ts"
import { AuditObserver } from "./AuditObserver.ts"
import { AuditQueue } from "./AuditQueue.ts"
import { AuditSettings } from "./AuditSettings.ts"
import { readGroupInfo } from "./groupInfo.ts"
import { makeLingerBatcher } from "./lingerBatcher.ts"
import { ProjectorHealth } from "./ProjectorHealth.ts"

export const AUDIT_GROUP = "audit"

/** NOGROUP: the group (and perhaps the log) is gone; a blocked read is also woken so when its log is deleted. */
const isGroupGone = (message: string) => message.includes("NOGROUP") || message.includes("no longer exists")

/** HMGET v, s, c of a snapshot hash; all null when the session has none (deleted, or expired). */
const decodeSnapshotFields = Schema.decodeUnknownSync(
  Schema.Tuple([Schema.NullOr(Schema.String), Schema.NullOr(Schema.String), Schema.NullOr(Schema.String)])
)

/** Back off from 50 ms, never waiting more than a second between tries: Redis is the hot path's store too. */
const retrying = Schedule.min([Schedule.exponential("50 millis"), Schedule.spaced("1 second")])
/** Consumers with nothing pending that have not read for this many reclaim periods are gone: forget them. */
const DEAD_CONSUMER_PERIODS = 10
/** How long one XREADGROUP blocks when nothing arrives. */
const BLOCK_MS = 2000

/**
 * The audit's reading side: a consumer group `audit` on every shard log. Each shard has its own
 * blocking XREADGROUP connection; what the shards read within a linger (AUDIT_BATCH_LINGER_MS) is
 * handed to the BullMQ queue as one job with a deterministic id, and each log's entries are
 * acknowledged only once the job is in the queue, so a crash in between leaves them pending. The entries carry events, not states: each job also takes the current snapshot
 * of each of its sessions, read from Redis when the job is made. Every `auditReclaimIdleMs`-ish, entries
 * pending on a consumer that has been idle that long (it died) are claimed and handed off again; the
 * log is trimmed of what is both acknowledged and older than the resume window (`resumeWindowMs`,
 * which readers resuming after a reconnect may still read); and consumers long gone are removed from
 * the group.
 *
 * Redis may lose the logs (FLUSHALL, a restart without persistence, a failover to a replica that
 * lacked the latest writes): the next commits create them again, without the group. A read that
 * finds no group, and every maintenance pass, look at each log: a missing group is created again
 * (from the log's start, so every entry still in Redis is audited; PostgreSQL's unique key makes
 * a second delivery a no-op), and a log whose history went back since the last look is reported
 * with the range of ids this projector had not taken when it was lost (a metric and one error line).
 */
export const projectorLayer: Layer.Layer<
  never,
  RedisUnavailable,
  RedisClient | StoreSettings | AuditSettings | AuditQueue | AuditObserver | ServerClock | ProjectorHealth
> = Layer.effectDiscard(
  Effect.gen(function*() {
    const redis = yield* RedisClient
    const store = yield* StoreSettings
    const settings = yield* AuditSettings
    const queue = yield* AuditQueue
    const observer = yield* AuditObserver
    const clock = yield* ServerClock
    const health = yield* ProjectorHealth
    const keys = makeKeySchema(store)
    const consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`
    const maintenanceMs = Math.min(settings.auditReclaimIdleMs, 5000)

    const ensureGroup = (key: string) =>
      redis.use((c) =>
        c.xgroup("CREATE", key, AUDIT_GROUP, "0", "MKSTREAM").catch((error: unknown) => {
          // Another projector created it first.
          if (!String(error).includes("BUSYGROUP")) throw error
        })
      )

    /** By shard: the newest log id this process handed off, and the log as the last look found it. */
    const handedOff = new Map<number, string>()
    const looks = new Map<number, LogLook>()

    /** The snapshot of each session of one shard's entries, as Redis holds it now: one pipelined HMGET each. */
    const readSnapshots = ({ shard, entries }: ShardRange) => {
      const sessionIds = [...new Set(entries.map((entry) => entry.sessionId))]
      return redis.use(async (c) => {
        const pipeline = c.pipeline()
        // The snapshots of one shard share its hash tag: one slot, one node.
        for (const sessionId of sessionIds) pipeline.hmget(keys.session(sessionId).snapshot, "v", "s", "c")
        const replies = (await pipeline.exec()) ?? []
        return sessionIds.flatMap((sessionId, i): Array<AuditSnapshot> => {
          const [error, reply] = replies[i] ?? [new Error(`no reply for shard ${shard}`), null]
          if (error !== null) throw error
          const [version, state, incarnation] = decodeSnapshotFields(reply)
          return version === null || state === null ? [] : [{ sessionId, incarnation: incarnation ?? "", version: Number(version), state }]
        })
      })
    }

    /** What one read of a shard log hands off; `more` reads what arrived since, to fill the read up when the batch goes. */
    interface Taken extends ShardRange {
      readonly reclaimed: boolean
      readonly more: Effect.Effect<ReadonlyArray<RawStreamEntry>, RedisUnavailable>
    }

    const topUp = (taken: Taken): Effect.Effect<Taken, RedisUnavailable> =>
      taken.entries.length >= settings.auditBatchSize
        ? Effect.succeed(taken)
        : Effect.map(taken.more, (raw) => ({ ...taken, entries: [...taken.entries, ...raw.map((item) => toLogEntry(taken.shard, item))] }))

    /**
     * One job for the reads of every shard that joined the batch: the current snapshots of their
     * sessions (one pipeline per shard, each on its own slot), the job, then each log's acknowledgement.
     */
    const handOffBatch = Effect.fnUntraced(function*(reads: ReadonlyArray<Taken>) {
      const ranges = (yield* Effect.forEach(reads, topUp, { concurrency: "unbounded" })).filter((range) => range.entries.length > 0)
      for (const { shard, entries } of ranges) {
        const newest = entries.at(-1)!.logId
        if (compareStreamIds(newest, handedOff.get(shard) ?? "0-0") > 0) handedOff.set(shard, newest)
      }
      const snapshots = yield* Effect.forEach(ranges, (range) => readSnapshots(range).pipe(Effect.retry(retrying)), { concurrency: "unbounded" })
      const entries = ranges.flatMap((range) => range.entries)
      yield* queue.handOff(jobIdOf(ranges), batchOf(entries, snapshots.flat())).pipe(Effect.retry(retrying))
      yield* Effect.forEach(
        ranges,
        ({ shard, entries }) =>
          redis.use((c) => c.xack(keys.shard(shard).log, AUDIT_GROUP, ...entries.map((e) => e.logId))).pipe(Effect.retry(retrying)),
        { concurrency: "unbounded", discard: true }
      )
      for (const range of ranges) observer.handedOff(range.entries.length, range.reclaimed)
    })

    const batcher = makeLingerBatcher({
      lingerMs: settings.auditBatchLingerMs,
      maxSize: settings.auditBatchSize,
      sizeOf: (taken: Taken) => taken.entries.length,
      flush: handOffBatch
    })

    const handOff = (shard: number, raw: ReadonlyArray<RawStreamEntry>, reclaimed: boolean, more: Taken["more"]) =>
      batcher.submit({ shard, entries: raw.map((item) => toLogEntry(shard, item)), reclaimed, more })

    const nothingMore = Effect.succeed<ReadonlyArray<RawStreamEntry>>([])

    /** Looks at one log: creates its group again when it is missing, and returns the gap when the log was lost. */
    const recoverShard = Effect.fnUntraced(function*(shard: number) {
      const key = keys.shard(shard).log
      const [look, group] = yield* Effect.all([readLogLook(redis, keys.shard(shard)), readGroupInfo(redis, key, AUDIT_GROUP)])
      const reset = wasReset(looks.get(shard), look)
      looks.set(shard, look)
      if (group === null) yield* ensureGroup(key)
      if (!reset) return null
      const gap = gapAfterReset(shard, handedOff.get(shard) ?? null, look)
      handedOff.delete(shard)
      return gap
    })

    const reportGaps = (gaps: ReadonlyArray<LogGap>) =>
      Effect.gen(function*() {
        observer.gaps(gaps)
        yield* Effect.logError("audit: Redis lost shard logs; events committed in these ranges before the loss are not in the audit", {
          gaps: gaps.map((gap) => ({ shard: gap.shard, after: gap.after, before: gap.before ?? "the loss" }))
        })
      })

    // One look at every log at a time: the first tail to find its group gone recovers them all.
    const recovering = yield* Semaphore.make(1)
    const recover = recovering.withPermits(1)(
      Effect.forEach(Array.from({ length: store.shardCount }, (_, shard) => shard), recoverShard).pipe(
        Effect.map((gaps) => gaps.filter((gap): gap is LogGap => gap !== null)),
        Effect.flatMap((gaps) => gaps.length === 0 ? Effect.void : reportGaps(gaps))
      )
    )

    const tail = Effect.fnUntraced(function*(shard: number, connection: RedisConnection) {
      const key = keys.shard(shard).log
      const read = (count: number, block: boolean) =>
        Effect.tryPromise({
          try: () =>
            block
              ? connection.xreadgroup("GROUP", AUDIT_GROUP, consumer, "COUNT", count, "BLOCK", BLOCK_MS, "STREAMS", key, ">")
              : connection.xreadgroup("GROUP", AUDIT_GROUP, consumer, "COUNT", count, "STREAMS", key, ">"),
          catch: (cause) => new RedisUnavailable({ message: String(cause) })
        }).pipe(
          Effect.map((reply) => decodeReadGroupReply(reply)?.[0]?.[1] ?? []),
          Effect.tap(() => Effect.sync(() => health.readSucceeded(shard))),
          Effect.tapError((error) =>
            Effect.andThen(
              Effect.sync(() => health.readFailed(shard, error.message)),
              // The log was lost, or deleted, and its group with it: recover, then read again.
              isGroupGone(error.message) ? Effect.ignore(recover) : Effect.void
            )
          ),
          Effect.retry(retrying)
        )
      while (true) {
        const first = yield* read(settings.auditBatchSize, true)
        if (first.length === 0) continue
        // A trickle would make a job of an event or two, and per-job costs would then bound the
        // audit's rate: what arrives within the linger, on this log and the others, joins the batch.
        yield* handOff(shard, first, false, read(settings.auditBatchSize - first.length, false))
      }
    })

    /** Takes over entries pending for longer than auditReclaimIdleMs on any consumer, in batches, and hands them off. */
    const reclaim = Effect.fnUntraced(function*(shard: number) {
      const key = keys.shard(shard).log
      let cursor = "0-0"
      do {
        const [next, claimed, deleted] = decodeAutoClaimReply(
          yield* redis.use((c) => c.xautoclaim(key, AUDIT_GROUP, consumer, settings.auditReclaimIdleMs, cursor, "COUNT", settings.auditBatchSize))
        )
        const live = claimed.flatMap(([id, fields]): Array<RawStreamEntry> => fields === null ? [] : [[id, fields]])
        if (live.length > 0) yield* handOff(shard, live, true, nothingMore)
        if (deleted.length > 0) {
          observer.lost(deleted.length)
          yield* Effect.logError("audit: shard-log entries were trimmed before they were audited", { shard, entries: deleted.length })
          yield* redis.use((c) => c.xack(key, AUDIT_GROUP, ...deleted))
        }
        cursor = next
      } while (cursor !== "0-0")
    })

    /** Trims below what the group has acknowledged and older than the resume window: never an entry not yet handed off. */
    const trim = Effect.fnUntraced(function*(shard: number) {
      const key = keys.shard(shard).log
      const group = yield* readGroupInfo(redis, key, AUDIT_GROUP)
      if (group === null) return
      const audited = group.oldestPendingId ?? nextStreamId(group.lastDeliveredId)
      const retained = `${(yield* clock.nowMs) - store.resumeWindowMs}-0`
      const minId = compareStreamIds(audited, retained) < 0 ? audited : retained
      yield* redis.use((c) => c.xtrim(key, "MINID", minId))
    })

    const forgetDeadConsumers = Effect.fnUntraced(function*(shard: number) {
      const key = keys.shard(shard).log
      const consumers = decodeInfoList(yield* redis.use((c) => c.xinfo("CONSUMERS", key, AUDIT_GROUP)))
      for (const info of consumers.map(fieldsOf)) {
        const name = String(info.get("name"))
        const idle = Number(info.get("idle"))
        if (name !== consumer && Number(info.get("pending")) === 0 && idle > DEAD_CONSUMER_PERIODS * settings.auditReclaimIdleMs) {
          yield* redis.use((c) => c.xgroup("DELCONSUMER", key, AUDIT_GROUP, name))
        }
      }
    })

    const maintain = Effect.andThen(
      recover.pipe(Effect.catch((error) => Effect.logWarning("audit: shard-log recovery check failed", { error: error.message }))),
      Effect.forEach(
        Array.from({ length: store.shardCount }, (_, shard) => shard),
        (shard) =>
          Effect.all([reclaim(shard), trim(shard), forgetDeadConsumers(shard)], { discard: true }).pipe(
            Effect.catch((error) => Effect.logWarning("audit: shard-log maintenance failed", { shard, error: error.message }))
          ),
        { discard: true }
      )
    )

    // Creates the groups, and takes the first look at every log.
    yield* recover
    for (let shard = 0; shard < store.shardCount; shard++) {
      const connection = yield* redis.dedicated(BLOCK_MS)
      yield* Effect.forkScoped(tail(shard, connection))
    }
    yield* Effect.forkScoped(Effect.forever(Effect.delay(maintain, maintenanceMs)))
  }).pipe(Effect.annotateLogs("component", "audit"))
)
