/**
 * `npm run migrate`: creates the database DATABASE_URL names when it is missing and applies the
 * pending migrations of `migrations/`. Safe to run from several instances at once.
 */
import { Effect, ManagedRuntime } from "effect"
import { ensureDatabase, migrate } from "../infra/pg/MigrationRunner.ts"
import { AppConfig } from "./AppConfig.ts"
import { bootLogLevel, configuredLogging, createProcessLogger } from "./logger.ts"

const root = createProcessLogger(bootLogLevel(process.env["LOG_LEVEL"]))
const log = root.child({ component: "migrate" })
const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error)

const runtime = ManagedRuntime.make(configuredLogging(root))
const { databaseUrl } = await runtime.runPromise(Effect.service(AppConfig)).catch((error: unknown) => {
  log.fatal({ err: messageOf(error) }, "synckairos migrate cannot start")
  return process.exit(1)
})
await runtime.dispose()
const database = new URL(databaseUrl)
database.password = ""
try {
  const created = await ensureDatabase(databaseUrl)
  const applied = await migrate(databaseUrl)
  log.info({ database: database.toString(), created, applied }, "migrations applied")
} catch (error) {
  log.fatal({ database: database.toString(), err: messageOf(error) }, "synckairos migrate failed")
  process.exit(1)
}
