import { Context, Effect, Layer } from "effect"
import { EventStore } from "../../infra/EventStore.ts"
import { type LogEntry, ShardLogReader } from "../../infra/ShardLogReader.ts"

/** One follower of a session on this instance (a feed). */
export interface Subscriber {
  /** Every entry of the session, in log order. */
  readonly entry: (entry: LogEntry) => void
  /** Redis lost the session's shard log: what the subscriber derived from it must be read again. */
  readonly resync: () => void
}

/**
 * Dispatches the shard logs to this instance's subscribers, by session. Every instance reads every
 * log, so a client sees a session's events whichever instance it is connected to and whichever
 * instance committed them; the only state kept here is who is subscribed.
 */
export class FanOut extends Context.Service<FanOut, {
  /** Hands every entry of the session read from now on to `subscriber`, in log order, until the returned function is called. */
  readonly subscribe: (sessionId: string, subscriber: Subscriber) => () => void
}>()("synckairos/app/ws/FanOut") {
  static readonly layer = Layer.effect(
    FanOut,
    Effect.gen(function*() {
      const reader = yield* ShardLogReader
      const { shardOf } = yield* EventStore
      const bySession = new Map<string, Set<Subscriber>>()

      yield* reader.listen(
        (entries) => {
          for (const entry of entries) {
            const subscribers = bySession.get(entry.sessionId)
            if (subscribers === undefined) continue
            for (const subscriber of subscribers) subscriber.entry(entry)
          }
        },
        (shards) => {
          for (const [sessionId, subscribers] of bySession) {
            if (shards.has(shardOf(sessionId))) subscribers.forEach((subscriber) => subscriber.resync())
          }
        }
      )

      const subscribe = (sessionId: string, subscriber: Subscriber) => {
        let subscribers = bySession.get(sessionId)
        if (subscribers === undefined) {
          subscribers = new Set()
          bySession.set(sessionId, subscribers)
        }
        subscribers.add(subscriber)
        return () => {
          subscribers.delete(subscriber)
          if (subscribers.size === 0 && bySession.get(sessionId) === subscribers) bySession.delete(sessionId)
        }
      }
      return FanOut.of({ subscribe })
    })
  )
}
