/**
 * An in-process instance on a fixed port that can be stopped and started again on that port, as a
 * page that loaded from it needs (its feed reconnects to the same origin).
 */
import { Effect, ManagedRuntime } from "effect"
import type { AddressInfo } from "node:net"
import type { FastifyInstance } from "fastify"
import { AppConfig, type AppSettings } from "../../src/app/AppConfig.ts"
import { buildHttpApp } from "../../src/app/http/app.ts"
import { apiLayer } from "../../src/app/layers.ts"
import { testDatabaseUrl } from "./postgres.ts"
import { redisUrl } from "./redis.ts"
import { configLayer } from "./settings.ts"

export interface Instance {
  readonly baseUrl: string
  /** Closes it as SIGTERM would: its sockets get 1012, its port stops answering. */
  readonly stop: () => Promise<void>
  /** Serves again on the same port. */
  readonly restart: () => Promise<void>
}

const listen = async (keyPrefix: string, port: number, overrides: Partial<AppSettings>): Promise<FastifyInstance> => {
  const settings = { redisUrl, keyPrefix, databaseUrl: testDatabaseUrl(), logLevel: "warn" as const, ...overrides }
  const runtime = ManagedRuntime.make(apiLayer(configLayer(settings)))
  const app = await buildHttpApp(runtime, await runtime.runPromise(Effect.service(AppConfig)))
  await app.listen({ port, host: "127.0.0.1" })
  return app
}

/** An instance sharing `keyPrefix` (and so its sessions) with every other instance given the same prefix. */
export const startInstance = async (keyPrefix: string, overrides: Partial<AppSettings> = {}): Promise<Instance> => {
  let app: FastifyInstance | undefined = await listen(keyPrefix, 0, overrides)
  const { port } = app.server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      await app?.close()
      app = undefined
    },
    restart: async () => {
      app = await listen(keyPrefix, port, overrides)
    }
  }
}
