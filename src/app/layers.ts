import { Effect, Layer } from "effect"
import type { Logger as Pino } from "pino"
import { DeadlineIndex } from "../infra/DeadlineIndex.ts"
import { EventStore } from "../infra/EventStore.ts"
import { RedisClient } from "../infra/RedisClient.ts"
import { ServerClock } from "../infra/ServerClock.ts"
import { shardPlacementCheck } from "../infra/ShardPlacement.ts"
import { ShardLogReader } from "../infra/ShardLogReader.ts"
import { StoreSettings } from "../infra/StoreSettings.ts"
import { redisTargetOf } from "../infra/RedisTarget.ts"
import { AppConfig, InvalidConfiguration } from "./AppConfig.ts"
import { auditLayer, auditWorkerLayer } from "./audit.ts"
import { CommandHandler } from "./CommandHandler.ts"
import { loggingLayer } from "./logger.ts"
import { Metrics } from "./metrics.ts"
import { Scheduler } from "./Scheduler.ts"
import { FanOut } from "./ws/FanOut.ts"

/** Redis and the store settings, as the configuration asks. */
const infraLayer = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const redis = redisTargetOf(config)
    if (redis._tag === "Invalid") return yield* new InvalidConfiguration({ message: redis.reason })
    return Layer.mergeAll(
      RedisClient.layerFor(redis),
      StoreSettings.layer({
        keyPrefix: config.keyPrefix,
        shardCount: config.shardCount,
        sessionTtlSeconds: config.sessionTtlSeconds,
        endedSessionTtlSeconds: config.endedSessionTtlSeconds,
        resumeWindowMs: config.resumeWindowMs,
        shardLogMaxLen: config.shardLogMaxLen,
        idempotencyTtlSeconds: config.idempotencyTtlSeconds
      })
    )
  })
)

/**
 * Everything the API process serves requests with, built on the given configuration; it logs through
 * the given pino logger (else one made from LOG_LEVEL), Effect's logging included.
 */
export const apiLayer = <E>(config: Layer.Layer<AppConfig, E>, logger?: Pino) =>
  auditLayer.pipe(
    Layer.provideMerge(Layer.mergeAll(CommandHandler.layer, DeadlineIndex.layer, FanOut.layer, Metrics.layer)),
    Layer.provideMerge(Layer.mergeAll(ShardLogReader.layer(), ServerClock.layer())),
    Layer.provideMerge(Layer.mergeAll(EventStore.layer, shardPlacementCheck)),
    Layer.provideMerge(infraLayer),
    Layer.provideMerge(loggingLayer(logger)),
    Layer.provideMerge(config)
  )

export type ApiServices = Layer.Success<ReturnType<typeof apiLayer>>

/** The background work: the scheduler and the audit's projector and writer, on the same services as the API. */
export const workerLayer = <E>(config: Layer.Layer<AppConfig, E>, logger?: Pino) =>
  Layer.mergeAll(Scheduler.layer(), auditWorkerLayer).pipe(Layer.provideMerge(apiLayer(config, logger)))
