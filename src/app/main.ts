import { Effect, Layer, ManagedRuntime } from "effect"
import { AppConfig } from "./AppConfig.ts"
import { localServices } from "./embedded/localServices.ts"
import { buildHttpApp } from "./http/app.ts"
import { apiLayer, workerLayer } from "./layers.ts"
import { bootLogLevel, configuredLogging, createProcessLogger } from "./logger.ts"

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
if (!ROLES.some((known) => known === role)) {
  log.fatal({ expected: ROLES }, `unknown role "${role}"`)
  process.exit(2)
}

const cannotStart = (error: unknown): never => {
  log.fatal({ err: error instanceof Error ? error.message : String(error) }, "synckairos cannot start")
  // Exiting signals the embedded servers too (see serverProcess.ts).
  process.exit(1)
}

// Until the service serves, a signal ends the start; exiting stops the embedded servers too.
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const
const abortStart = () => process.exit(1)
for (const signal of SIGNALS) process.once(signal, abortStart)

// The configuration is read (and refused) before the embedded servers start, on a runtime of its own:
// the app's runtime needs the addresses those servers get.
const boot = ManagedRuntime.make(configuredLogging(root))
const configured = await boot.runPromise(Effect.service(AppConfig)).catch(cannotStart)
await boot.dispose()
const local = await localServices(process.env, role === "all").catch(cannotStart)
const settings = { ...configured, redisUrl: local.redisUrl ?? configured.redisUrl, databaseUrl: local.databaseUrl ?? configured.databaseUrl }
const config = Layer.succeed(AppConfig, settings)
const runtime = ManagedRuntime.make(role === "api" ? apiLayer(config, root) : workerLayer(config, root))
// A worker serves only health, readiness, time and metrics: its scheduler and audit must be observable too.
const app = await buildHttpApp(runtime, settings, role === "worker" ? "operations" : "api").catch(cannotStart)

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
  // Closing the HTTP app disposes the runtime; the embedded servers stop once nothing uses them.
  app.close().then(local.stop).then(() => process.exit(0), () => process.exit(1))
}
for (const signal of SIGNALS) {
  process.removeListener(signal, abortStart)
  process.once(signal, () => stop(signal))
}

await app.listen({ port: settings.port, host: settings.host }).catch(cannotStart)
const url = `http://${settings.host === "0.0.0.0" || settings.host === "::" ? "localhost" : settings.host}:${settings.port}`
const pages = role === "worker" ? "" : ` · API docs ${url}/docs · demos ${url}/demo/chess ${url}/demo/countdown`
log.info(
  { port: settings.port, redis: local.redis, postgres: local.postgres },
  `synckairos ready at ${url}${pages} · Redis ${local.redis} · PostgreSQL ${local.postgres}`
)
