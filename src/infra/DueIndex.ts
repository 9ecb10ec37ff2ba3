import { Context, Effect, Layer } from "effect"
import { makeKeySchema } from "./keys.ts"
import { RedisClient, type RedisUnavailable } from "./RedisClient.ts"
import { forgetScript } from "./scripts.ts"
import { StoreSettings } from "./StoreSettings.ts"

export interface Due {
  readonly sessionId: string
  readonly at: number
}

/**
 * What is due when: the per-shard sorted sets that every commit keeps of each running session's
 * next due instant (score = epoch ms of its next warning or expiry, whichever comes first). The
 * scheduler reads them; only a session that no longer exists is ever removed from outside a commit.
 */
export class DueIndex extends Context.Service<DueIndex, {
  readonly shardCount: number
  /** Sessions of one shard with something due at or before `untilMs`, earliest first. */
  readonly dueBy: (shard: number, untilMs: number, limit: number) => Effect.Effect<ReadonlyArray<Due>, RedisUnavailable>
  /** Removes a session whose keys expired; true when it was indexed and is gone. */
  readonly forget: (sessionId: string) => Effect.Effect<boolean, RedisUnavailable>
}>()("synckairos/infra/DueIndex") {
  static readonly layer: Layer.Layer<DueIndex, never, RedisClient | StoreSettings> = Layer.effect(
    DueIndex,
    Effect.gen(function*() {
      const redis = yield* RedisClient
      const settings = yield* StoreSettings
      const keys = makeKeySchema(settings)

      const dueBy = Effect.fn("DueIndex.dueBy")(function*(shard: number, untilMs: number, limit: number) {
        const flat = yield* redis.use((c) =>
          c.zrangebyscore(keys.shard(shard).deadlines, "-inf", String(untilMs), "WITHSCORES", "LIMIT", "0", String(limit))
        )
        const due: Array<Due> = []
        for (let i = 0; i + 1 < flat.length; i += 2) due.push({ sessionId: flat[i]!, at: Number(flat[i + 1]) })
        return due
      })

      const forget = Effect.fn("DueIndex.forget")(function*(sessionId: string) {
        return yield* redis.run(forgetScript, keys.session(sessionId))
      })

      return DueIndex.of({ shardCount: settings.shardCount, dueBy, forget })
    })
  )
}
