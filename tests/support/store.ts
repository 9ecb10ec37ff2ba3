/** Reads a session straight from Redis, the way the service stores it, to check what a test did. */
import { Effect, type Layer, ManagedRuntime } from "effect"
import { replay, type SessionState } from "../../src/domain/index.ts"
import { decodeState, fromStoredEvent } from "../../src/app/sessionCodec.ts"
import { EventStore, type StoredEvent } from "../../src/infra/EventStore.ts"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { RedisClient, type RedisUnavailable } from "../../src/infra/RedisClient.ts"
import { StoreSettings } from "../../src/infra/StoreSettings.ts"
import { storeLayer } from "./redis.ts"

export interface StoredSession {
  readonly snapshot: SessionState | null
  readonly version: number
  /** The events Redis holds (its index lists them, its shard log still has them). */
  readonly events: ReadonlyArray<StoredEvent>
  /** Every event the session index lists, whether or not Redis still holds it: its id and version. */
  readonly listed: ReadonlyArray<{ readonly id: string; readonly version: number }>
  /** The state folded from the events Redis holds. */
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
      const { keyPrefix, shardCount } = yield* StoreSettings
      const index = makeKeySchema({ keyPrefix, shardCount }).session(sessionId).index
      const listed = yield* (yield* RedisClient).use((connection) => connection.zrange(index, "0", "-1", "WITHSCORES"))
      return {
        snapshot: loaded.state === null ? null : decodeState(loaded.state),
        version: loaded.version,
        events,
        listed: Array.from({ length: listed.length / 2 }, (_, i) => ({ id: listed[2 * i]!, version: Number(listed[2 * i + 1]) })),
        replayed: replay(events.map(fromStoredEvent))
      }
    }))
  return { read, close: () => runtime.dispose() }
}
