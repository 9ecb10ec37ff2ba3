import { Context, Effect, Exit, Layer } from "effect"
import { makeKeySchema } from "../keys.ts"
import { RedisClient, type RedisUnavailable } from "../RedisClient.ts"
import { ServerClock } from "../ServerClock.ts"
import { StoreSettings } from "../StoreSettings.ts"
import { streamIdMs } from "../streamIds.ts"
import { AuditQueue, type QueueStatus } from "./AuditQueue.ts"
import { readGroupInfo } from "./groupInfo.ts"
import { AUDIT_GROUP } from "./Projector.ts"

/** How far the audit is behind, as every instance can see it in Redis. */
export interface AuditStatus {
  /** Age of the oldest committed event not yet in PostgreSQL (ms, Redis clock); 0 when all are audited. */
  readonly lagMs: number
  /** Shard-log entries not yet handed to the queue, all shards together. */
  readonly backlog: number
  /**
   * The fullest shard's backlog as a share of the shard log's hard cap (SHARD_LOG_MAXLEN): at 1 the
   * commits start trimming events the audit has not taken. Alarm well before.
   */
  readonly backlogRatio: number
  readonly queue: QueueStatus
}

interface ShardBacklog {
  readonly entries: number
  readonly oldestMs: number | null
}

/** A status this recent is served again rather than recomputed: readiness probes and scrapes may be frequent. */
const STATUS_TTL = "1 second"

export class AuditMonitor extends Context.Service<AuditMonitor, {
  readonly status: Effect.Effect<AuditStatus, RedisUnavailable>
}>()("synckairos/infra/AuditMonitor") {
  static readonly layer: Layer.Layer<AuditMonitor, never, RedisClient | StoreSettings | AuditQueue | ServerClock> = Layer.effect(
    AuditMonitor,
    Effect.gen(function*() {
      const redis = yield* RedisClient
      const store = yield* StoreSettings
      const queue = yield* AuditQueue
      const clock = yield* ServerClock
      const keys = makeKeySchema(store)

      const firstIdAfter = (key: string, start: string) =>
        redis.use((c) => c.xrange(key, start, "+", "COUNT", 1)).pipe(Effect.map((entries) => entries[0]?.[0] ?? null))

      const shardBacklog = Effect.fnUntraced(function*(shard: number) {
        const key = keys.shard(shard).log
        const group = yield* readGroupInfo(redis, key, AUDIT_GROUP)
        if (group === null) {
          // No projector has ever run on this log: all of it is waiting.
          const first = yield* firstIdAfter(key, "-")
          return { entries: yield* redis.use((c) => c.xlen(key)), oldestMs: first === null ? null : streamIdMs(first) }
        }
        const undelivered = group.undelivered ?? (yield* redis.use((c) => c.xlen(key)))
        const oldest = group.oldestPendingId ?? (undelivered > 0 ? yield* firstIdAfter(key, `(${group.lastDeliveredId}`) : null)
        return { entries: group.pending + undelivered, oldestMs: oldest === null ? null : streamIdMs(oldest) }
      })

      const compute = Effect.gen(function*() {
        const [shards, queued, now] = yield* Effect.all([
          Effect.forEach(Array.from({ length: store.shardCount }, (_, shard) => shard), shardBacklog, { concurrency: "unbounded" }),
          queue.status,
          clock.nowMs
        ], { concurrency: "unbounded" })
        const oldest = [queued.oldestMs, ...shards.map((s: ShardBacklog) => s.oldestMs)]
          .reduce<number>((min, ms) => (ms === null ? min : Math.min(min, ms)), Number.POSITIVE_INFINITY)
        return {
          lagMs: Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0,
          backlog: shards.reduce((sum, s) => sum + s.entries, 0),
          backlogRatio: Math.max(0, ...shards.map((s) => s.entries)) / store.shardLogMaxLen,
          queue: queued
        }
      })

      const status = yield* Effect.cachedWithTTL(compute, (exit) => (Exit.isSuccess(exit) ? STATUS_TTL : 0))
      return AuditMonitor.of({ status })
    })
  )
}
