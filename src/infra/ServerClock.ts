import { Context, Effect, Layer, Schedule } from "effect"
import { RedisClient, type RedisUnavailable } from "./RedisClient.ts"

export interface ServerClockOptions {
  /** How often the offset to Redis TIME is measured again (default 5000). */
  readonly recalibrateMs?: number
  /** TIME round trips per calibration; the fastest one wins (default 5). */
  readonly samples?: number
}

/**
 * Local clock that does not jump when the wall clock is adjusted (NTP steps); the offset to Redis
 * absorbs its slow drift at each calibration.
 */
const monotonicMs = () => performance.timeOrigin + performance.now()

interface Sample {
  readonly rttMs: number
  readonly offsetMs: number
}

/**
 * Epoch ms on the Redis server's clock, served without a round trip: the same time base as the
 * event times committed by the Lua scripts (GET /v1/time, WebSocket pongs).
 */
export class ServerClock extends Context.Service<ServerClock, {
  /** Integer epoch ms; never goes backwards. */
  readonly nowMs: Effect.Effect<number>
  /** The same, outside Effect: the live feeds read it for every frame. */
  readonly now: () => number
}>()("synckairos/infra/ServerClock") {
  static layer(options: ServerClockOptions = {}): Layer.Layer<ServerClock, RedisUnavailable, RedisClient> {
    const recalibrateMs = options.recalibrateMs ?? 5000
    const samples = options.samples ?? 5
    return Layer.effect(
      ServerClock,
      Effect.gen(function*() {
        const redis = yield* RedisClient

        // Offset measured at the midpoint of the round trip; the fastest sample bounds the error best.
        const sample = redis.use(async (connection): Promise<Sample> => {
          const t0 = monotonicMs()
          const [seconds, micros] = await connection.time()
          const t1 = monotonicMs()
          return { rttMs: t1 - t0, offsetMs: Number(seconds) * 1000 + Number(micros) / 1000 - (t0 + t1) / 2 }
        })
        const calibrate = Effect.replicateEffect(sample, samples).pipe(
          Effect.map((all) => all.reduce((best, next) => (next.rttMs < best.rttMs ? next : best)).offsetMs)
        )

        let offsetMs = yield* calibrate
        let lastServedMs = 0

        yield* calibrate.pipe(
          Effect.tap((measured) =>
            Effect.sync(() => {
              offsetMs = measured
            })
          ),
          // A failed recalibration keeps the previous offset: the local clock is still good for a while.
          Effect.catch((error) => Effect.logWarning("ServerClock recalibration failed", { error: error.message })),
          Effect.repeat(Schedule.spaced(recalibrateMs)),
          Effect.delay(recalibrateMs),
          Effect.forkScoped
        )

        const now = () => {
          lastServedMs = Math.max(lastServedMs, Math.floor(monotonicMs() + offsetMs))
          return lastServedMs
        }
        return ServerClock.of({ nowMs: Effect.sync(now), now })
      }).pipe(Effect.annotateLogs("component", "clock"))
    )
  }
}
