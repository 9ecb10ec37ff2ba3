import { Redis } from "ioredis"

/** Fails the run at once, with the reason, when the services the integration tests need are not up. */
export default async function globalSetup(): Promise<void> {
  const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
  const redis = new Redis(url, { protocol: 2, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null })
  try {
    await redis.connect()
    await redis.ping()
  } catch (error) {
    throw new Error(`Redis is not answering at ${url} (${String(error)}); start it or set REDIS_URL`)
  } finally {
    redis.disconnect()
  }
}
