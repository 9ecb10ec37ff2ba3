import { Context, Effect, Layer, Queue, Schedule, type Scope } from "effect"
import { makeKeySchema } from "./keys.ts"
import { type LogLook, readLogLook, resumeIdAfterReset, wasReset } from "./logLook.ts"
import { RedisClient, RedisUnavailable } from "./RedisClient.ts"
import { StoreSettings } from "./StoreSettings.ts"
import { type LogEntry, type RawStreamEntry, toLogEntry } from "./streamEntries.ts"
import { compareStreamIds } from "./streamIds.ts"

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
  const [previousId, appended] = JSON.parse(message) as [string, Array<RawStreamEntry>]
  return { previousId, entries: appended.map((item) => toLogEntry(shard, item)) }
}

/** Where the reader is in one shard's log. */
interface Follower {
  readonly shard: number
  readonly log: string
  /** The last entry delivered. */
  lastId: string
  /** Messages that arrived while the log is read from lastId on; null when following the messages. */
  held: Array<ReadonlyArray<LogEntry>> | null
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
 * read per event.
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
        const listeners = new Set<LogListener>()
        const resetListeners = new Set<ResetListener>()
        const stats = { delivered: 0, catchUps: 0, retries: 0, silentFeeds: 0, resets: 0 }

        // Every follower holds messages until it knows where its log stands.
        const followers: Array<Follower> = Array.from({ length: settings.shardCount }, (_, shard) => ({
          shard,
          log: keys.shard(shard).log,
          lastId: "0-0",
          held: []
        }))
        const byChannel = new Map(followers.map((f) => [keys.shard(f.shard).feed, f]))

        const deliver = (follower: Follower, entries: ReadonlyArray<LogEntry>) => {
          const fresh = entries.filter((entry) => compareStreamIds(entry.logId, follower.lastId) > 0)
          if (fresh.length === 0) return
          follower.lastId = fresh[fresh.length - 1]!.logId
          stats.delivered += fresh.length
          for (const listener of listeners) {
            try {
              listener(fresh)
            } catch (error) {
              // One failing listener must neither starve the others nor stop the reader.
              runFork(Effect.logError("ShardLogReader listener failed", error))
            }
          }
        }

        const releaseHeld = (follower: Follower) => {
          const held = follower.held ?? []
          follower.held = null
          for (const entries of held) deliver(follower, entries)
        }

        // Shards whose log must be read from their last entry on, one after another.
        const behind = yield* Queue.unbounded<Follower>()
        const readOn = (follower: Follower) => {
          follower.held ??= []
          Queue.offerUnsafe(behind, follower)
        }

        const readLogOnce = (follower: Follower) =>
          Effect.tryPromise(() => redis.connection.xrange(follower.log, `(${follower.lastId}`, "+", "COUNT", batch)).pipe(
            Effect.tapError(() => Effect.sync(() => stats.retries++)),
            // Back off from 50 ms, never waiting more than a second between tries.
            Effect.retry(Schedule.min([Schedule.exponential("50 millis"), Schedule.spaced("1 second")]))
          )

        yield* Effect.gen(function*() {
          while (true) {
            // Read even when an earlier read released it: that read may predate a resubscription.
            const follower = yield* Queue.take(behind)
            follower.held ??= []
            stats.catchUps++
            while (true) {
              const raw = yield* readLogOnce(follower)
              deliver(follower, raw.map((item) => toLogEntry(follower.shard, item as RawStreamEntry)))
              if (raw.length < batch) break
            }
            releaseHeld(follower)
          }
        }).pipe(Effect.forkScoped)

        const onMessage = (channel: string, message: string) => {
          const follower = byChannel.get(channel)
          if (follower === undefined) return
          let parsed: FeedMessage
          try {
            parsed = parseFeedMessage(follower.shard, message)
          } catch {
            // Not a commit's message (another publisher on the channel?): the log says what happened.
            return readOn(follower)
          }
          const { previousId, entries } = parsed
          if (follower.held !== null) follower.held.push(entries)
          else if (previousId === follower.lastId) deliver(follower, entries)
          else if (compareStreamIds(entries[entries.length - 1]?.logId ?? "0-0", follower.lastId) > 0) {
            follower.held = [entries]
            readOn(follower)
          }
          // Otherwise a late message of entries already read from the log.
        }

        const subscriber = yield* redis.subscriber
        const reconnectIfReady = () => {
          if (subscriber.status === "ready") subscriber.disconnect(true)
        }
        // One channel per command: on a cluster each shard's channel lives in its own slot.
        const subscribe = () => Promise.all([...byChannel.keys()].map((channel) => subscriber.ssubscribe(channel)))
        subscriber.on("smessage", onMessage)
        yield* Effect.tryPromise({ try: subscribe, catch: (cause) => new RedisUnavailable({ message: String(cause) }) })

        // Messages missed while the connection was down are in the logs: subscribe, then read them.
        subscriber.on("ready", () => {
          for (const follower of followers) follower.held ??= []
          subscribe().then(
            () => followers.forEach(readOn),
            () => reconnectIfReady()
          )
        })

        // A connection that died without closing would bring nothing, silently: ping it, and replace it
        // when it does not answer.
        yield* Effect.tryPromise(() => subscriber.ping()).pipe(
          Effect.catch(() => Effect.sync(reconnectIfReady)),
          Effect.repeat(Schedule.spaced(pingMs)),
          Effect.forkScoped
        )

        /** Each log as it stands, by shard. */
        const readLooks = Effect.forEach(followers, (follower) => readLogLook(redis, keys.shard(follower.shard)), { concurrency: "unbounded" })
        const tipOf = (look: LogLook) => look.lastId ?? "0-0"

        // Each log's tip, read once subscribed: what follows it arrives as messages, held until now.
        let looksAtLastCheck = yield* readLooks
        followers.forEach((follower, shard) => {
          follower.lastId = tipOf(looksAtLastCheck[shard]!)
          releaseHeld(follower)
        })

        /** Follows the logs Redis lost from where the new ones meet what was read, and says so. */
        const recoverResetLogs = (looks: ReadonlyArray<LogLook>) => {
          const reset = followers.filter((_, shard) => wasReset(looksAtLastCheck[shard], looks[shard]!))
          if (reset.length === 0) return Effect.void
          stats.resets += reset.length
          for (const follower of reset) {
            follower.lastId = resumeIdAfterReset(follower.lastId, looks[follower.shard]!)
            readOn(follower)
          }
          const shards = new Set(reset.map((follower) => follower.shard))
          for (const listener of resetListeners) listener(shards)
          // What the audit lost is the projector's to say; here only which feeds resync.
          return Effect.logWarning("shard logs were lost by Redis and created again; live feeds of their sessions resync", {
            shards: [...shards]
          })
        }

        // The ping does not reach every connection that brings messages (on a cluster, each node's has
        // its own), and a connection may answer yet bring nothing. The logs tell: an entry that was at a
        // log's tip a whole check ago and still has not arrived was missed. Its log is read on, and the
        // feed connections replaced.
        yield* readLooks.pipe(
          Effect.flatMap((now) => {
            const missed = followers.filter((f, shard) =>
              f.held === null && compareStreamIds(tipOf(looksAtLastCheck[shard]!), f.lastId) > 0 && !wasReset(looksAtLastCheck[shard], now[shard]!)
            )
            const recovered = recoverResetLogs(now)
            looksAtLastCheck = now
            if (missed.length > 0) {
              stats.silentFeeds++
              missed.forEach(readOn)
              reconnectIfReady()
            }
            return recovered
          }),
          Effect.ignore,
          Effect.repeat(Schedule.spaced(pingMs)),
          Effect.forkScoped
        )
        // On a cluster each node's feed connection is replaced on its own, and subscribed again by the
        // client, which says so with "subscribersReady": what was published in between is in the logs.
        // Only from here on: a read before the tips are known would start from the beginning of each log.
        subscriber.on("subscribersReady", () => followers.forEach(readOn))

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
