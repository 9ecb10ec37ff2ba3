import { Context, Effect, Layer, Schedule, type Scope } from "effect"
import { makeKeySchema } from "./keys.ts"
import { RedisClient, type RedisUnavailable } from "./RedisClient.ts"
import type { RedisConnection } from "./scripts.ts"
import { StoreSettings } from "./StoreSettings.ts"

/** One committed event as the shard log carries it. */
export interface LogEntry {
  /** Id of the entry in the shard log. */
  readonly logId: string
  readonly shard: number
  readonly sessionId: string
  readonly version: number
  readonly type: string
  readonly at: number
  readonly payload: string
  /** Id of the event in the session's own stream: what clients see and resume from. */
  readonly eventId: string
  /** The session's snapshot JSON after this event; empty when the event deleted the session. */
  readonly stateAfter: string
}

export type LogListener = (entries: ReadonlyArray<LogEntry>) => void

export interface ShardLogReaderOptions {
  /** How long one XREAD blocks when nothing arrives (default 5000 ms). */
  readonly blockMs?: number
  /** Most entries one XREAD returns (default 1000). */
  readonly batch?: number
}

/** One shard-log entry as XREAD and XREADGROUP return it. */
export const toEntry = (shard: number, [logId, fields]: [string, Array<string>]): LogEntry => {
  const f = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!)
  return {
    logId,
    shard,
    sessionId: f.get("sid") ?? "",
    version: Number(f.get("v")),
    type: f.get("t") ?? "",
    at: Number(f.get("at")),
    payload: f.get("p") ?? "",
    eventId: f.get("e") ?? "",
    stateAfter: f.get("s") ?? ""
  }
}

/**
 * Tails every shard log with a blocking XREAD of its own (one XREAD may only read streams of one
 * cluster slot) and hands each batch, in log order, to every listener. It starts at the logs' tips
 * and, after any Redis error or reconnect, reads on from the last id it delivered: nothing is
 * skipped and nothing delivered twice.
 */
export class ShardLogReader extends Context.Service<ShardLogReader, {
  /** Delivers every entry committed from now on until the scope closes. */
  readonly listen: (listener: LogListener) => Effect.Effect<void, never, Scope.Scope>
  /** Entries delivered so far and reads that failed and were retried, for metrics. */
  readonly stats: Effect.Effect<{ readonly delivered: number; readonly retries: number }>
}>()("synckairos/infra/ShardLogReader") {
  static layer(options: ShardLogReaderOptions = {}): Layer.Layer<ShardLogReader, RedisUnavailable, RedisClient | StoreSettings> {
    const blockMs = options.blockMs ?? 5000
    const batch = options.batch ?? 1000
    return Layer.effect(
      ShardLogReader,
      Effect.gen(function*() {
        const redis = yield* RedisClient
        const settings = yield* StoreSettings
        const keys = makeKeySchema(settings)
        const listeners = new Set<LogListener>()
        const stats = { delivered: 0, retries: 0 }

        // Every log's tip is read before the layer is ready, not "$" inside the tail: a listener
        // registered once the layer is built then sees every entry committed after that point, and
        // after a reconnect the tail reads on from a concrete id where "$" would skip what arrived.
        const tips = yield* Effect.forEach(
          Array.from({ length: settings.shardCount }, (_, shard) => keys.shard(shard).log),
          (key) => redis.use((connection) => connection.xrevrange(key, "+", "-", "COUNT", 1)),
          { concurrency: "unbounded" }
        )

        const deliver = (entries: ReadonlyArray<LogEntry>) =>
          Effect.forEach(listeners, (listener) =>
            // One failing listener must neither starve the others nor end the tail.
            Effect.try(() => listener(entries)).pipe(
              Effect.catch((error) => Effect.logError("ShardLogReader listener failed", error.cause))
            ), { discard: true })

        const tail = Effect.fnUntraced(function*(shard: number, connection: RedisConnection, startId: string) {
          const key = keys.shard(shard).log
          let lastId = startId
          const readOnce = Effect.tryPromise(() => connection.xread("COUNT", batch, "BLOCK", blockMs, "STREAMS", key, lastId)).pipe(
            Effect.tapError(() => Effect.sync(() => stats.retries++)),
            // Back off from 50 ms, never waiting more than a second between tries.
            Effect.retry(Schedule.min([Schedule.exponential("50 millis"), Schedule.spaced("1 second")]))
          )
          while (true) {
            const reply = (yield* readOnce) as Array<[string, Array<[string, Array<string>]>]> | null
            const raw = reply?.[0]?.[1]
            if (raw === undefined || raw.length === 0) continue
            const entries = raw.map((item) => toEntry(shard, item))
            lastId = entries[entries.length - 1]!.logId
            stats.delivered += entries.length
            yield* deliver(entries)
          }
        })

        for (let shard = 0; shard < settings.shardCount; shard++) {
          const connection = yield* redis.dedicated(blockMs)
          yield* Effect.forkScoped(tail(shard, connection, tips[shard]?.[0]?.[0] ?? "0-0"))
        }

        return ShardLogReader.of({
          listen: (listener) =>
            Effect.acquireRelease(
              Effect.sync(() => listeners.add(listener)),
              () => Effect.sync(() => listeners.delete(listener))
            ).pipe(Effect.asVoid),
          stats: Effect.sync(() => ({ ...stats }))
        })
      })
    )
  }
}
