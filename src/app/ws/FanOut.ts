import { Context, Effect, Layer } from "effect"
import { type LogEntry, ShardLogReader } from "../../infra/ShardLogReader.ts"

export type EntryListener = (entry: LogEntry) => void

/**
 * Dispatches the shard logs to this instance's subscribers, by session. Every instance reads every
 * log, so a client sees a session's events whichever instance it is connected to and whichever
 * instance committed them; the only state kept here is who is subscribed.
 */
export class FanOut extends Context.Service<FanOut, {
  /** Hands every entry of the session read from now on to `listener`, in log order, until the returned function is called. */
  readonly subscribe: (sessionId: string, listener: EntryListener) => () => void
}>()("synckairos/app/ws/FanOut") {
  static readonly layer = Layer.effect(
    FanOut,
    Effect.gen(function*() {
      const reader = yield* ShardLogReader
      const bySession = new Map<string, Set<EntryListener>>()

      yield* reader.listen((entries) => {
        for (const entry of entries) {
          const listeners = bySession.get(entry.sessionId)
          if (listeners === undefined) continue
          for (const listener of listeners) listener(entry)
        }
      })

      const subscribe = (sessionId: string, listener: EntryListener) => {
        let listeners = bySession.get(sessionId)
        if (listeners === undefined) {
          listeners = new Set()
          bySession.set(sessionId, listeners)
        }
        listeners.add(listener)
        return () => {
          listeners.delete(listener)
          if (listeners.size === 0 && bySession.get(sessionId) === listeners) bySession.delete(sessionId)
        }
      }
      return FanOut.of({ subscribe })
    })
  )
}
