import { Redis } from "ioredis"
import type { TestProject } from "vitest/node"
import { createTestDatabase, dropDatabase } from "./postgres.ts"

/**
 * Fails the run at once, with the reason, when the services the integration tests need are not up;
 * creates the run's fresh PostgreSQL database (migrated) and drops it when the run ends.
 */
export default async function globalSetup(project: TestProject): Promise<() => Promise<void>> {
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
  const databaseUrl = await createTestDatabase("run").catch((error: unknown) => {
    throw new Error(`PostgreSQL is not answering (${String(error)}); start it or set DATABASE_URL to a server tests may create databases on`)
  })
  project.provide("databaseUrl", databaseUrl)
  return () => dropDatabase(databaseUrl)
}
