/**
 * Where the shards land on a Redis Cluster. Each shard is one hash slot (its hash tag), so a cluster
 * spreads the work only as well as those SHARD_COUNT slots spread over its masters: with too few
 * shards, some masters hold none and idle. Checked once at start, said in a warning.
 */
import type { Cluster } from "ioredis"
import { Effect, Layer } from "effect"
import { makeKeySchema } from "./keys.ts"
import { RedisClient } from "./RedisClient.ts"
import { StoreSettings } from "./StoreSettings.ts"

export interface ShardPlacement {
  /** Shards per master (`host:port`), every master listed, those holding none with 0. */
  readonly shardsByMaster: ReadonlyMap<string, number>
  /** Masters that hold no shard: the cluster has more than the shards use. */
  readonly idleMasters: ReadonlyArray<string>
}

/** How the shards' slots (`shardSlots[shard]`) fall on the masters, given each slot's master. */
export const placementOf = (
  shardSlots: ReadonlyArray<number>,
  masterOf: (slot: number) => string | undefined,
  masters: ReadonlyArray<string>
): ShardPlacement => {
  const shardsByMaster = new Map(masters.map((master) => [master, 0]))
  for (const slot of shardSlots) {
    const master = masterOf(slot)
    if (master !== undefined) shardsByMaster.set(master, (shardsByMaster.get(master) ?? 0) + 1)
  }
  return { shardsByMaster, idleMasters: [...shardsByMaster].filter(([, shards]) => shards === 0).map(([master]) => master) }
}

export const placementWarning = (shardCount: number, placement: ShardPlacement): string | undefined => {
  const { shardsByMaster, idleMasters } = placement
  if (idleMasters.length === 0) return undefined
  return `SHARD_COUNT=${shardCount} puts the shards on ${shardsByMaster.size - idleMasters.length} of the cluster's ` +
    `${shardsByMaster.size} masters; no shard on ${idleMasters.join(", ")}, which takes no load: raise SHARD_COUNT ` +
    `(16 or more per master spread them evenly: docs/scaling.md) or move slots`
}

/** The placement as the connected cluster reports it; undefined on a single Redis node. */
export const readShardPlacement = Effect.gen(function*() {
  const redis = yield* RedisClient
  const settings = yield* StoreSettings
  if (!("nodes" in redis.connection)) return undefined
  const cluster: Cluster = redis.connection
  const keys = makeKeySchema(settings)
  const slots = yield* Effect.forEach(
    Array.from({ length: settings.shardCount }, (_, shard) => keys.shard(shard).log),
    (key) => redis.use((connection) => connection.call("CLUSTER", "KEYSLOT", key)),
    { concurrency: 16 }
  )
  const masters = cluster.nodes("master").map((node) => `${node.options.host}:${node.options.port}`)
  return placementOf(slots.map(Number), (slot) => cluster.slots[slot]?.[0], masters)
})

/** At start on a cluster: warn when the shards leave masters idle. Never fails the start. */
export const shardPlacementCheck: Layer.Layer<never, never, RedisClient | StoreSettings> = Layer.effectDiscard(
  Effect.gen(function*() {
    const settings = yield* StoreSettings
    const placement = yield* readShardPlacement
    const warning = placement === undefined ? undefined : placementWarning(settings.shardCount, placement)
    if (warning !== undefined) yield* Effect.logWarning(warning)
  }).pipe(Effect.catch((error) => Effect.logWarning("could not check where the shards land on the cluster", error.message)))
)
