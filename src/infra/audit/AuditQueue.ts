import { Queue } from "bullmq"
import { Context, Effect, Layer } from "effect"
import { RedisClient, RedisUnavailable } from "../RedisClient.ts"
import { StoreSettings } from "../StoreSettings.ts"
import { type AuditBatch, jobOldestMs } from "./AuditBatch.ts"
import { AuditSettings } from "./AuditSettings.ts"

export const AUDIT_QUEUE_NAME = "audit"

/** Every BullMQ key of the queue shares the hash tag `{audit}`: one cluster slot, as BullMQ's scripts need. */
export const auditQueuePrefix = (keyPrefix: string): string => `${keyPrefix}{audit}`

/** Jobs waiting to be written, by state, and the commit time of the oldest event among them. */
export interface QueueStatus {
  readonly waiting: number
  readonly active: number
  readonly delayed: number
  readonly failed: number
  /** Epoch ms (Redis clock); null when no job is waiting to be written. */
  readonly oldestMs: number | null
}

const PENDING_STATES = ["waiting", "active", "delayed", "failed", "prioritized"] as const
/** Ids looked at per state to find the oldest job: the states are ordered by age only roughly. */
const OLDEST_SCAN = 100
/** Jobs moved at once when re-driving. */
const REDRIVE_COUNT = 10_000
/**
 * Completed jobs are removed at once. Keeping them only let BullMQ ignore a batch handed off twice
 * (a reclaim after a consumer died between the hand-off and its XACK), at the price of up to 5,000
 * whole batches kept in Redis; a batch written twice inserts nothing new (the session_events unique
 * key) and leaves the sessions row as it was (its upsert keeps the newest of each field), so
 * PostgreSQL is the idempotency guard.
 */
const REMOVE_COMPLETED = true

/** Approximate cap of BullMQ's own event stream of the queue. */
const EVENT_STREAM_MAX_LEN = 100

const unavailable = (cause: unknown) => new RedisUnavailable({ message: cause instanceof Error ? cause.message : String(cause) })

/** The BullMQ queue between the projector and the audit writer. */
export class AuditQueue extends Context.Service<AuditQueue, {
  readonly name: string
  readonly prefix: string
  /** Adds the batch as job `jobId` unless a job of that id exists. */
  readonly handOff: (jobId: string, batch: AuditBatch) => Effect.Effect<void, RedisUnavailable>
  readonly status: Effect.Effect<QueueStatus, RedisUnavailable>
  /**
   * Moves failed jobs back to waiting and backed-off jobs to now, e.g. once PostgreSQL answers again;
   * returns whether there were any.
   */
  readonly redrive: Effect.Effect<boolean, RedisUnavailable>
}>()("synckairos/infra/AuditQueue") {
  static readonly layer: Layer.Layer<AuditQueue, RedisUnavailable, RedisClient | StoreSettings | AuditSettings> = Layer.effect(
    AuditQueue,
    Effect.gen(function*() {
      const redis = yield* RedisClient
      const store = yield* StoreSettings
      const settings = yield* AuditSettings
      const prefix = auditQueuePrefix(store.keyPrefix)
      // A connection of BullMQ's own (standalone or cluster), ours to close: BullMQ leaves a connection
      // it was given open. BullMQ refuses an ioredis keyPrefix; ours has none.
      const connection = yield* redis.copy({})
      const queue = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const queue = new Queue(AUDIT_QUEUE_NAME, {
            connection,
            prefix,
            // Nothing reads BullMQ's event stream (the monitor reads the queue's counts): keep it short
            // rather than at BullMQ's 10,000 events.
            streams: { events: { maxLen: EVENT_STREAM_MAX_LEN } },
            // Failed jobs are never removed: they wait to be re-driven, nothing is dropped.
            defaultJobOptions: {
              attempts: settings.auditJobAttempts,
              backoff: { type: "exponential", delay: settings.auditRetryBaseMs },
              removeOnComplete: REMOVE_COMPLETED,
              removeOnFail: false
            }
          })
          queue.on("error", () => {
            // Reported by the call that fails.
          })
          return queue
        }),
        (queue) => Effect.promise(() => queue.close().catch(() => undefined))
      )
      const use = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: unavailable })

      const handOff = (jobId: string, batch: AuditBatch) => use(() => queue.add("batch", batch, { jobId })).pipe(Effect.asVoid)

      const status = Effect.gen(function*() {
        const counts = yield* use(() => queue.getJobCounts(...PENDING_STATES))
        const nonEmpty = PENDING_STATES.filter((state) => (counts[state] ?? 0) > 0)
        const ids = yield* Effect.forEach(nonEmpty, (state) => use(() => queue.getRanges([state], 0, OLDEST_SCAN - 1, true)), {
          concurrency: "unbounded"
        })
        const oldest = ids.flat().reduce((min, id) => Math.min(min, jobOldestMs(id)), Number.POSITIVE_INFINITY)
        return {
          waiting: (counts["waiting"] ?? 0) + (counts["prioritized"] ?? 0),
          active: counts["active"] ?? 0,
          delayed: counts["delayed"] ?? 0,
          failed: counts["failed"] ?? 0,
          oldestMs: Number.isFinite(oldest) ? oldest : null
        }
      })

      const redrive = Effect.gen(function*() {
        const counts = yield* use(() => queue.getJobCounts("failed", "delayed"))
        if ((counts["failed"] ?? 0) + (counts["delayed"] ?? 0) === 0) return false
        yield* use(() => queue.retryJobs({ state: "failed", count: REDRIVE_COUNT }))
        yield* use(() => queue.promoteJobs({ count: REDRIVE_COUNT }))
        return true
      })

      return AuditQueue.of({ name: AUDIT_QUEUE_NAME, prefix, handOff, status, redrive })
    })
  )
}
