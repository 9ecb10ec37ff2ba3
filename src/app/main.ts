import { Effect, ManagedRuntime } from "effect"
import { AppConfig } from "./AppConfig.ts"
import { buildHttpApp } from "./http/app.ts"
import { apiLayer, workerLayer } from "./layers.ts"

/**
 * Process entry point: `node dist/app/main.js [all|api|worker]` once built (tests run the source with tsx).
 *   api     the HTTP API
 *   worker  the background work: the deadline scheduler
 *   all     both in one process (the default, what `npm start` runs)
 */
const ROLES = ["all", "api", "worker"] as const
const role = process.argv[2] ?? "all"
if (!(ROLES as ReadonlyArray<string>).includes(role)) {
  console.error(`unknown role "${role}"; expected one of: ${ROLES.join(", ")}`)
  process.exit(2)
}

const log = (level: "info" | "error", msg: string, fields: Record<string, unknown> = {}) =>
  console[level === "error" ? "error" : "log"](JSON.stringify({ level, time: Date.now(), role, msg, ...fields }))

const runtime = ManagedRuntime.make(role === "api" ? apiLayer(AppConfig.layer) : workerLayer(AppConfig.layer))
const settings = await runtime.runPromise(Effect.service(AppConfig)).catch(async (error: unknown) => {
  console.error(`synckairos cannot start: ${String(error)}`)
  await runtime.dispose()
  process.exit(1)
})
const app = role === "worker" ? undefined : await buildHttpApp(runtime, settings)

// SIGTERM: stop accepting, let in-flight commands finish and answer, then close Redis.
let stopping = false
const stop = (signal: string) => {
  if (stopping) return
  stopping = true
  log("info", "shutting down", { signal })
  setTimeout(() => {
    log("error", "shutdown grace period exceeded; exiting")
    process.exit(1)
  }, settings.shutdownGraceMs).unref()
  // Closing the HTTP app disposes the runtime; a worker disposes it directly.
  const closed = app === undefined ? runtime.dispose() : app.close()
  closed.then(() => process.exit(0), () => process.exit(1))
}
process.once("SIGTERM", () => stop("SIGTERM"))
process.once("SIGINT", () => stop("SIGINT"))

if (app !== undefined) await app.listen({ port: settings.port, host: settings.host })
log("info", "synckairos ready", app === undefined ? {} : { port: settings.port })
