import { Effect, ManagedRuntime } from "effect"
import { AppConfig } from "./AppConfig.ts"
import { buildHttpApp } from "./http/app.ts"
import { apiLayer, workerLayer } from "./layers.ts"

/**
 * Process entry point: `node dist/app/main.js [all|api|worker]` once built (tests run the source with tsx).
 *   api     the HTTP API
 *   worker  the background work: the deadline scheduler and the audit; over HTTP only health,
 *           readiness, time and metrics
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
// A worker serves only health, readiness, time and metrics: its scheduler and audit must be observable too.
const app = await buildHttpApp(runtime, settings, role === "worker" ? "operations" : "api")

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
  // Closing the HTTP app disposes the runtime.
  app.close().then(() => process.exit(0), () => process.exit(1))
}
process.once("SIGTERM", () => stop("SIGTERM"))
process.once("SIGINT", () => stop("SIGINT"))

await app.listen({ port: settings.port, host: settings.host })
log("info", "synckairos ready", { port: settings.port })
