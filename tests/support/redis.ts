/** Real-Redis test support: a unique key prefix per test file, the store layers, and cleanup. */
import { randomBytes } from "node:crypto"
import { Redis } from "ioredis"
import { Layer } from "effect"
import { EventStore } from "../../src/infra/EventStore.ts"
import { RedisClient, type RedisUnavailable } from "../../src/infra/RedisClient.ts"
import type { StoreSettingsShape } from "../../src/infra/StoreSettings.ts"
import { storeSettingsLayer } from "./settings.ts"

export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"

/** `sktest:<tag>:<random>:`, so test files running in parallel never share a key. */
export const testPrefix = (fileTag: string): string => {
  if (!/^[a-z0-9-]+$/.test(fileTag)) throw new Error(`fileTag must be [a-z0-9-]+: ${fileTag}`)
  return `sktest:${fileTag}:${randomBytes(4).toString("hex")}:`
}

/** RedisClient + StoreSettings + EventStore against the test Redis (or `redis`), every service exposed. */
export const storeLayer = (
  prefix: string,
  settings: Partial<StoreSettingsShape> = {},
  redis: Layer.Layer<RedisClient, RedisUnavailable> = RedisClient.layer(redisUrl)
) => EventStore.layer.pipe(Layer.provideMerge(Layer.mergeAll(redis, storeSettingsLayer({ ...settings, keyPrefix: prefix }))))

/** Deletes every `prefix*` key with SCAN + UNLINK (call in afterAll). */
export const deleteKeysWithPrefix = async (prefix: string): Promise<void> => {
  const redis = new Redis(redisUrl, { protocol: 2, lazyConnect: true })
  await redis.connect()
  try {
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", "1000")
      if (keys.length > 0) await redis.unlink(...keys)
      cursor = next
    } while (cursor !== "0")
  } finally {
    await redis.quit()
  }
}

/** Every key under `prefix`, sorted, with the length of its streams and sorted sets: a cheap picture of what the service wrote. */
export const keysWithPrefix = async (prefix: string): Promise<Array<string>> => {
  const redis = new Redis(redisUrl, { protocol: 2 })
  try {
    const keys = await redis.keys(`${prefix}*`)
    const described = await Promise.all(keys.map(async (key) => {
      const type = await redis.type(key)
      if (type === "stream") return `${key}#${await redis.xlen(key)}`
      return type === "zset" ? `${key}#${await redis.zcard(key)}` : key
    }))
    return described.sort()
  } finally {
    redis.disconnect()
  }
}
