/**
 * `npm run migrate`: creates the database DATABASE_URL names when it is missing and applies the
 * pending migrations of `migrations/`. Safe to run from several instances at once.
 */
import { Effect } from "effect"
import { ensureDatabase, migrate } from "../infra/pg/MigrationRunner.ts"
import { AppConfig } from "./AppConfig.ts"

const { databaseUrl } = await Effect.runPromise(Effect.provide(Effect.service(AppConfig), AppConfig.layer))
const database = new URL(databaseUrl)
database.password = ""
try {
  const created = await ensureDatabase(databaseUrl)
  const applied = await migrate(databaseUrl)
  console.log(JSON.stringify({ level: "info", msg: "migrations applied", database: database.toString(), created, applied }))
} catch (error) {
  console.error(`synckairos migrate failed on ${database.toString()}: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
