import { Worker } from "bullmq"
import { Effect, Layer } from "effect"
import { AuditRepository } from "../pg/AuditRepository.ts"
import { RedisClient, type RedisUnavailable } from "../RedisClient.ts"
import { ServerClock } from "../ServerClock.ts"
import type { AuditBatch } from "./AuditBatch.ts"
import { AuditObserver } from "./AuditObserver.ts"
import { AuditQueue } from "./AuditQueue.ts"
import { AuditSettings } from "./AuditSettings.ts"

/**
 * The audit's writing side: a BullMQ worker that commits each batch to PostgreSQL in one
 * transaction. A failed attempt is retried with exponential backoff (the job's options); a job out
 * of attempts is parked as failed, never dropped, and every `auditRedriveIntervalMs` the parked and
 * backed-off jobs are re-driven as soon as PostgreSQL answers again. A job whose worker died is
 * taken back by BullMQ's stalled check once its lock (`auditReclaimIdleMs`) has expired.
 */
export const auditWriterLayer: Layer.Layer<
  never,
  RedisUnavailable,
  RedisClient | AuditSettings | AuditQueue | AuditRepository | AuditObserver | ServerClock
> = Layer.effectDiscard(
  Effect.gen(function*() {
    const redis = yield* RedisClient
    const settings = yield* AuditSettings
    const queue = yield* AuditQueue
    const repository = yield* AuditRepository
    const observer = yield* AuditObserver
    const clock = yield* ServerClock
    // BullMQ calls back outside any fiber: run there on this layer's context, whose logger is the process's.
    const context = yield* Effect.context<never>()
    const runPromise = Effect.runPromiseWith(context)
    const runFork = Effect.runForkWith(context)

    const write = (batch: AuditBatch) =>
      repository.writeBatch(batch).pipe(
        Effect.tap((result) => Effect.map(clock.nowMs, (now) => observer.written(batch, result, now))),
        Effect.tap((result) =>
          result.conflicts > 0
            ? Effect.logError("audit: events collide with audited ones under the same session incarnation and version (Redis lost commits the audit had taken)", result)
            : Effect.void
        ),
        // BullMQ retries what throws.
        Effect.catchTag("AuditUnavailable", (error) => Effect.die(new Error(error.message)))
      )

    // Blocking reads wait longer than any command timeout, and BullMQ retries commands itself.
    const connection = yield* redis.copy({ maxRetriesPerRequest: null, commandTimeout: undefined })
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const worker = new Worker<AuditBatch>(queue.name, (job) => runPromise(write(job.data)), {
          connection,
          prefix: queue.prefix,
          concurrency: settings.auditWorkerConcurrency,
          lockDuration: settings.auditReclaimIdleMs,
          stalledInterval: Math.min(settings.auditReclaimIdleMs, 5000)
        })
        worker.on("failed", (job) => observer.failed(job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1)))
        worker.on("error", (error) => runFork(Effect.logWarning("audit worker error", { error: error.message })))
        return worker
      }),
      (worker) => Effect.promise(() => worker.close().catch(() => undefined))
    )

    const redrive = repository.ping.pipe(
      Effect.andThen(queue.redrive),
      Effect.tap((moved) => moved ? Effect.logInfo("audit: re-drove failed and backed-off jobs") : Effect.void),
      Effect.ignore
    )
    yield* Effect.forkScoped(Effect.forever(Effect.delay(redrive, settings.auditRedriveIntervalMs)))
  }).pipe(Effect.annotateLogs("component", "audit"))
)
