import { Context, Effect, FiberSet, Layer, Schedule, type Scope } from "effect"
import { type FollowerEffect, type FollowerInput, initialState, step } from "./follow/logFollower.ts"
import { makeKeySchema } from "./keys.ts"
import { readLogLook } from "./logLook.ts"
import { RedisClient, RedisUnavailable } from "./RedisClient.ts"
import { StoreSettings } from "./StoreSettings.ts"
import { decodeFeedMessage, type LogEntry, toLogEntry } from "./streamEntries.ts"

export type { LogEntry } from "./streamEntries.ts"

export type LogListener = (entries: ReadonlyArray<LogEntry>) => void

/**
 * Told which shard logs Redis lost: what was committed to their sessions before the loss may be gone
 * with them, so whatever was derived from those sessions must be read again.
 */
export type ResetListener = (shards: ReadonlySet<number>) => void

export interface ShardLogReaderOptions {
  /**
   * How often the feed connection is pinged and the logs' tips are checked against what arrived, so
   * that a dead or quiet one is replaced (default 5000 ms).
   */
  readonly pingMs?: number
  /** Most entries one read of a log returns when catching up (default 1000). */
  readonly batch?: number
}

/** What commit-7 publishes on a shard's feed channel (see its header). */
export interface FeedMessage {
  /** Id of the log entry before these; the reader has seen all of the log up to it or it reads the log. */
  readonly previousId: string
  readonly entries: ReadonlyArray<LogEntry>
}

/** Throws on a message of another shape: it did not come from a commit. */
export const parseFeedMessage = (shard: number, message: string): FeedMessage => {
  const [previousId, appended] = decodeFeedMessage(message)
  return { previousId, entries: appended.map((item) => toLogEntry(shard, item)) }
}

/**
 * Follows every shard log and hands each batch of new entries, in log order, to every listener. Each
 * commit publishes the entries it appended on its shard's feed channel (sharded pub/sub), together
 * with the id of the entry before them: a message that follows the last entry delivered is delivered
 * as it is, with no command sent for it. Any other message means the reader missed one (its
 * connection dropped, or Redis restarted), and it reads the log itself from the last entry it
 * delivered, holding messages back meanwhile. After a reconnect (on a cluster, of any node's feed
 * connection) it is subscribed again and reads every log on from there. Nothing is skipped and
 * nothing delivered twice; the log stays the record, the messages only spare each instance a blocking
 * read per event. What to do when is decided by the pure state machine of `follow/logFollower.ts`;
 * this layer only feeds it what Redis brings and runs what it decides.
 *
 * Every ping interval it also looks at each log (XINFO STREAM). A log whose history went back since
 * the last look was lost by Redis and created again (FLUSHALL, a restart without persistence, a
 * failover to a lagging replica): the reader follows the new log from where the two meet, names the
 * shards in one warning line, and tells its reset listeners, so that feeds resync.
 */
export class ShardLogReader extends Context.Service<ShardLogReader, {
  /** Delivers every entry committed from now on until the scope closes; and says when a log was lost. */
  readonly listen: (listener: LogListener, onReset?: ResetListener) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Entries delivered so far; times a log was read because messages were missed (or after a
   * reconnect); and reads of a log that failed and were retried.
   */
  readonly stats: Effect.Effect<{
    readonly delivered: number
    readonly catchUps: number
    readonly retries: number
    /** Checks that found a log entry no message had brought for a whole ping interval. */
    readonly silentFeeds: number
    /** Logs found lost by Redis and created again. */
    readonly resets: number
  }>
}>()("synckairos/infra/ShardLogReader") {
  static layer(options: ShardLogReaderOptions = {}): Layer.Layer<ShardLogReader, RedisUnavailable, RedisClient | StoreSettings> {
    const pingMs = options.pingMs ?? 5000
    const batch = options.batch ?? 1000
    return Layer.effect(
      ShardLogReader,
      Effect.gen(function*() {
        const redis = yield* RedisClient
        const settings = yield* StoreSettings
        const keys = makeKeySchema(settings)
        const runFork = Effect.runForkWith(yield* Effect.context<never>())
        // Reads run in the layer's scope: closing it stops those still retrying.
        const runRead = yield* FiberSet.makeRuntime<never>()
        const listeners = new Set<LogListener>()
        const resetListeners = new Set<ResetListener>()
        const stats = { delivered: 0, catchUps: 0, retries: 0, silentFeeds: 0, resets: 0 }
        const subscriber = yield* redis.subscriber
        const shards = Array.from({ length: settings.shardCount }, (_, shard) => keys.shard(shard))
        const shardByChannel = new Map(shards.map((shardKeys, shard) => [shardKeys.feed, shard]))

        // One failing listener must neither starve the others nor stop the reader.
        const notify = (call: () => void) => {
          try {
            call()
          } catch (error) {
            runFork(Effect.logError("ShardLogReader listener failed", error))
          }
        }

        const readLog = (shard: number, after: string) =>
          Effect.tryPromise(() => redis.connection.xrange(shards[shard]!.log, `(${after}`, "+", "COUNT", batch)).pipe(
            Effect.match({
              onFailure: (): FollowerInput<LogEntry> => ({ _tag: "ReadFailed", shard }),
              onSuccess: (raw): FollowerInput<LogEntry> => ({
                _tag: "ReadDone",
                shard,
                entries: raw.map((item) => toLogEntry(shard, item)),
                more: raw.length >= batch
              })
            })
          )

        const run = (effect: FollowerEffect<LogEntry>): void => {
          switch (effect._tag) {
            case "Deliver":
              for (const listener of listeners) notify(() => listener(effect.entries))
              return
            case "Read": {
              const read = readLog(effect.shard, effect.after)
              runRead((effect.delayMs > 0 ? Effect.delay(read, effect.delayMs) : read).pipe(Effect.map(apply)))
              return
            }
            case "Reconnect":
              if (subscriber.status === "ready") subscriber.disconnect(true)
              return
            case "ReportReset":
              for (const listener of resetListeners) notify(() => listener(effect.shards))
              // What the audit lost is the projector's to say; here only which feeds resync.
              runFork(Effect.logWarning("shard logs were lost by Redis and created again; live feeds of their sessions resync", {
                shards: [...effect.shards]
              }))
              return
            case "Count":
              stats[effect.stat] += effect.by
              return
          }
        }

        let state = initialState<LogEntry>(settings.shardCount)
        const apply = (input: FollowerInput<LogEntry>): void => {
          const next = step(state, input)
          state = next.state
          next.effects.forEach(run)
        }

        subscriber.on("smessage", (channel: string, message: string) => {
          const shard = shardByChannel.get(channel)
          if (shard === undefined) return
          let parsed: FeedMessage
          try {
            parsed = parseFeedMessage(shard, message)
          } catch {
            // Not a commit's message (another publisher on the channel?).
            return apply({ _tag: "Malformed", shard })
          }
          apply({ _tag: "Message", shard, previousId: parsed.previousId, entries: parsed.entries })
        })
        // One channel per command: on a cluster each shard's channel lives in its own slot.
        const subscribe = () => Promise.all([...shardByChannel.keys()].map((channel) => subscriber.ssubscribe(channel)))
        // After a reconnect, subscribe again; on a cluster the client subscribes each node's replaced
        // connection again by itself and says so.
        subscriber.on("ready", () => {
          subscribe().then(() => apply({ _tag: "Resubscribed" }), () => apply({ _tag: "FeedFailed" }))
        })
        subscriber.on("subscribersReady", () => apply({ _tag: "Resubscribed" }))
        yield* Effect.tryPromise({ try: subscribe, catch: (cause) => new RedisUnavailable({ message: String(cause) }) })

        // A connection that died without closing would bring nothing, silently: ping it, and replace it
        // when it does not answer.
        yield* Effect.tryPromise(() => subscriber.ping()).pipe(
          Effect.catch(() => Effect.sync(() => apply({ _tag: "FeedFailed" }))),
          Effect.repeat(Schedule.spaced(pingMs)),
          Effect.forkScoped
        )

        // Each log as it stands, by shard. Looked at once subscribed, so that what follows each tip
        // arrives as messages; then every ping interval, to find logs lost by Redis and messages that
        // never came (see logFollower.ts).
        const look = Effect.forEach(shards, (shardKeys) => readLogLook(redis, shardKeys), { concurrency: "unbounded" }).pipe(
          Effect.map((looks) => apply({ _tag: "Tick", looks }))
        )
        yield* look
        yield* look.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(pingMs)), Effect.forkScoped)

        return ShardLogReader.of({
          listen: (listener, onReset) =>
            Effect.acquireRelease(
              Effect.sync(() => {
                listeners.add(listener)
                if (onReset !== undefined) resetListeners.add(onReset)
              }),
              () =>
                Effect.sync(() => {
                  listeners.delete(listener)
                  if (onReset !== undefined) resetListeners.delete(onReset)
                })
            ).pipe(Effect.asVoid),
          stats: Effect.sync(() => ({ ...stats }))
        })
      }).pipe(Effect.annotateLogs("component", "shard-log-reader"))
    )
  }
}
