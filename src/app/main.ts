import { Effect, ManagedRuntime } from "effect"
import { AppConfig } from "./AppConfig.ts"
import { buildHttpApp } from "./http/app.ts"
import { apiLayer, workerLayer } from "./layers.ts"
import { bootLogLevel, createProcessLogger } from "./logger.ts"

/**
 * Process entry point: `node dist/app/main.js [all|api|worker]` once built (tests run the source with tsx).
 *   api     the HTTP API
 *   worker  the background work: the deadline scheduler and the audit; over HTTP only health,
 *           readiness, time and metrics
 *   all     both in one process (the default, what `npm start` runs)
 */
const ROLES = ["all", "api", "worker"] as const
const role = process.argv[2] ?? "all"
// Made before the configuration is read, so that a refused configuration is reported as a JSON line
// too; the configuration's LOG_LEVEL (the same variable, validated) applies from then on.
const root = createProcessLogger(bootLogLevel(process.env["LOG_LEVEL"]))
const log = root.child({ component: "process", role })
if (!(ROLES as ReadonlyArray<string>).includes(role)) {
  log.fatal({ expected: ROLES }, `unknown role "${role}"`)
  process.exit(2)
}

const runtime = ManagedRuntime.make(role === "api" ? apiLayer(AppConfig.layer, root) : workerLayer(AppConfig.layer, root))
const settings = await runtime.runPromise(Effect.service(AppConfig)).catch(async (error: unknown) => {
  log.fatal({ err: String(error) }, "synckairos cannot start")
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
  log.info({ signal }, "shutting down")
  setTimeout(() => {
    log.error("shutdown grace period exceeded; exiting")
    process.exit(1)
  }, settings.shutdownGraceMs).unref()
  // Closing the HTTP app disposes the runtime.
  app.close().then(() => process.exit(0), () => process.exit(1))
}
process.once("SIGTERM", () => stop("SIGTERM"))
process.once("SIGINT", () => stop("SIGINT"))

await app.listen({ port: settings.port, host: settings.host })
log.info({ port: settings.port }, "synckairos ready")
