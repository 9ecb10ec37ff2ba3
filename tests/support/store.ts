/** Reads a session straight from Redis, the way the service stores it, to check what a test did. */
import { Effect, type Layer, ManagedRuntime } from "effect"
import { replay, type SessionState } from "../../src/domain/index.ts"
import { decodeState, fromStoredEvent } from "../../src/app/sessionCodec.ts"
import { EventStore, type StoredEvent } from "../../src/infra/EventStore.ts"
import type { RedisClient, RedisUnavailable } from "../../src/infra/RedisClient.ts"
import { storeLayer } from "./redis.ts"

export interface StoredSession {
  readonly snapshot: SessionState | null
  readonly version: number
  readonly events: ReadonlyArray<StoredEvent>
  /** The state folded from the session's stream. */
  readonly replayed: SessionState | null
}

/** On the test Redis, or on `redis` (e.g. a cluster's `RedisClient.layerCluster`). */
export const storeReader = (prefix: string, redis?: Layer.Layer<RedisClient, RedisUnavailable>) => {
  const runtime = ManagedRuntime.make(storeLayer(prefix, {}, redis))
  const read = (sessionId: string): Promise<StoredSession> =>
    runtime.runPromise(Effect.gen(function*() {
      const store = yield* EventStore
      const loaded = yield* store.load(sessionId)
      const events = yield* store.readEvents(sessionId)
      return {
        snapshot: loaded.state === null ? null : decodeState(loaded.state),
        version: loaded.version,
        events,
        replayed: replay(events.map(fromStoredEvent))
      }
    }))
  return { read, close: () => runtime.dispose() }
}
