import { Effect, ManagedRuntime } from "effect"
import { AppConfig } from "./AppConfig.ts"
import { buildHttpApp } from "./http/app.ts"
import { apiLayer } from "./layers.ts"

/**
 * Process entry point: `tsx src/app/main.ts [all|api]`. Both roles serve the HTTP API today; `all`
 * is the one that will also run the background workers.
 */
const ROLES = ["all", "api"] as const
const role = process.argv[2] ?? "all"
if (!(ROLES as ReadonlyArray<string>).includes(role)) {
  console.error(`unknown role "${role}"; expected one of: ${ROLES.join(", ")}`)
  process.exit(2)
}

const runtime = ManagedRuntime.make(apiLayer(AppConfig.layer))
const settings = await runtime.runPromise(Effect.service(AppConfig)).catch(async (error: unknown) => {
  console.error(`synckairos cannot start: ${String(error)}`)
  await runtime.dispose()
  process.exit(1)
})
const app = await buildHttpApp(runtime, settings)

// SIGTERM: stop accepting, let in-flight commands finish and answer, then close Redis.
let stopping = false
const stop = (signal: string) => {
  if (stopping) return
  stopping = true
  app.log.info({ signal }, "shutting down")
  setTimeout(() => {
    app.log.error("shutdown grace period exceeded; exiting")
    process.exit(1)
  }, settings.shutdownGraceMs).unref()
  app.close().then(() => process.exit(0), () => process.exit(1))
}
process.once("SIGTERM", () => stop("SIGTERM"))
process.once("SIGINT", () => stop("SIGINT"))

await app.listen({ port: settings.port, host: settings.host })
app.log.info({ role, port: settings.port }, "synckairos ready")
