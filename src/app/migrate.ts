/**
 * `npm run migrate`: creates the database DATABASE_URL names when it is missing and applies the
 * pending migrations of `migrations/`. Safe to run from several instances at once.
 */
import { Effect } from "effect"
import { ensureDatabase, migrate } from "../infra/pg/MigrationRunner.ts"
import { AppConfig } from "./AppConfig.ts"
import { bootLogLevel, createProcessLogger } from "./logger.ts"

const log = createProcessLogger(bootLogLevel(process.env["LOG_LEVEL"])).child({ component: "migrate" })

const { databaseUrl } = await Effect.runPromise(Effect.provide(Effect.service(AppConfig), AppConfig.layer))
const database = new URL(databaseUrl)
database.password = ""
try {
  const created = await ensureDatabase(databaseUrl)
  const applied = await migrate(databaseUrl)
  log.info({ database: database.toString(), created, applied }, "migrations applied")
} catch (error) {
  log.fatal({ database: database.toString(), err: error instanceof Error ? error.message : String(error) }, "synckairos migrate failed")
  process.exit(1)
}
