/** A real SyncKairos HTTP server on a free port, with its own key prefix, for integration tests. */
import { Effect, ManagedRuntime } from "effect"
import type { AddressInfo } from "node:net"
import { randomUUID } from "node:crypto"
import { AppConfig, type AppSettings } from "../../src/app/AppConfig.ts"
import { buildHttpApp } from "../../src/app/http/app.ts"
import { apiLayer, workerLayer } from "../../src/app/layers.ts"
import { testDatabaseUrl } from "./postgres.ts"
import { deleteKeysWithPrefix, redisUrl, testPrefix } from "./redis.ts"
import { configLayer } from "./settings.ts"
import { expect } from "vitest"

export interface TestServer {
  readonly baseUrl: string
  readonly prefix: string
  readonly close: () => Promise<void>
}

/** `all` also runs the deadline scheduler, as `npm start` does; `api` serves requests only. */
export const startServer = async (
  fileTag: string,
  overrides: Partial<AppSettings> = {},
  role: "api" | "all" = "api"
): Promise<TestServer> => {
  const prefix = testPrefix(fileTag)
  const settings = { redisUrl, keyPrefix: prefix, databaseUrl: testDatabaseUrl(), logLevel: "warn" as const, ...overrides }
  const layer = (role === "all" ? workerLayer : apiLayer)(configLayer(settings))
  const runtime = ManagedRuntime.make(layer)
  const app = await buildHttpApp(runtime, await runtime.runPromise(Effect.service(AppConfig)))
  await app.listen({ port: 0, host: "127.0.0.1" })
  const { port } = app.server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    prefix,
    close: async () => {
      await app.close()
      await deleteKeysWithPrefix(prefix)
    }
  }
}

export interface Reply<T = any> {
  readonly status: number
  readonly body: T
  readonly headers: Headers
}

/** One HTTP call; `body` may be an object (sent as JSON) or a raw string (sent as is). */
export const call = async <T = any>(
  server: TestServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<Reply<T>> => {
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body)
    ;(init.headers as Record<string, string>)["content-type"] ??= "application/json"
  }
  const response = await fetch(`${server.baseUrl}${path}`, init)
  const text = await response.text()
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text), headers: response.headers }
}

export const uuid = (): string => randomUUID()

/** A create body with `n` participants; fields can be replaced or added. */
export const sessionBody = (mode: string, n = 2, extra: Record<string, unknown> = {}) => ({
  session_id: uuid(),
  sync_mode: mode,
  participants: Array.from({ length: n }, () => ({ participant_id: uuid() })),
  total_time_ms: 60_000,
  ...extra
})

/**
 * A started per_participant session of two with `switches` turns played (versions 1 … switches + 2),
 * each command answered 2xx; `extra` replaces or adds fields of the create body. Its id.
 */
export const playSession = async (server: TestServer, switches: number, extra: Record<string, unknown> = {}): Promise<string> => {
  const body = sessionBody("per_participant", 2, { total_time_ms: 3_600_000, ...extra })
  expect((await call(server, "POST", "/v1/sessions", body)).status).toBe(201)
  expect((await call(server, "POST", `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
  for (let i = 0; i < switches; i++) expect((await call(server, "POST", `/v1/sessions/${body.session_id}/switch`)).status).toBe(200)
  return body.session_id
}
