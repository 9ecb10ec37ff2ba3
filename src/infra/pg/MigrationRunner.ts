/**
 * Applies the SQL files of `migrations/` in name order, each once, each in its own transaction.
 *
 * It uses `pg` directly rather than slonik: a migration file holds several statements, which only
 * the simple query protocol runs, and slonik (rightly) takes no SQL text from outside a template.
 * Every instance may run it at boot: a session advisory lock makes concurrent runs take turns, and
 * the second finds nothing left to do.
 */
import { createHash } from "node:crypto"
import { readdir, readFile } from "node:fs/promises"
import pg from "pg"

const MIGRATION_FILE = /^\d+_[a-z0-9_]+\.sql$/
/** Any constant shared by every instance; the text says what it guards. */
const LOCK_KEY = "synckairos.migrations"
const CONNECT_TIMEOUT_MS = 5000

export const defaultMigrationsDirectory = new URL("../../../migrations/", import.meta.url)

/** A PostgreSQL error's SQLSTATE, when it has one. */
export const sqlStateOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined

const INVALID_CATALOG_NAME = "3D000"
const DUPLICATE_DATABASE = "42P04"
const UNIQUE_VIOLATION = "23505"

const withClient = async <A>(url: string, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
  // A connection lost while idle is reported by the next query; without a listener it would throw.
  client.on("error", () => {})
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/** Creates the database `url` names when it does not exist (through the server's `postgres` database); true when it did. */
export const ensureDatabase = async (url: string): Promise<boolean> => {
  try {
    await withClient(url, async () => {})
    return false
  } catch (error) {
    if (sqlStateOf(error) !== INVALID_CATALOG_NAME) throw error
  }
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.slice(1))
  const maintenance = new URL(url)
  maintenance.pathname = "/postgres"
  await withClient(maintenance.toString(), async (client) => {
    // Two instances may both find it missing: the second CREATE fails with one of these, harmlessly.
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((error: unknown) => {
      const state = sqlStateOf(error)
      if (state !== DUPLICATE_DATABASE && state !== UNIQUE_VIOLATION) throw error
    })
  })
  return true
}

interface MigrationFile {
  readonly name: string
  readonly sql: string
  readonly checksum: string
}

const readMigrations = async (directory: URL): Promise<ReadonlyArray<MigrationFile>> => {
  const names = (await readdir(directory)).filter((name) => MIGRATION_FILE.test(name)).sort()
  return Promise.all(names.map(async (name) => {
    const sql = await readFile(new URL(name, directory), "utf8")
    return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") }
  }))
}

/**
 * Applies the pending migrations of `directory` to the database `url` names; returns the names of
 * those it applied. Refuses to run when a migration already applied has changed since.
 */
export const migrate = async (url: string, directory: URL = defaultMigrationsDirectory): Promise<ReadonlyArray<string>> => {
  const files = await readMigrations(directory)
  return withClient(url, async (client) => {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [LOCK_KEY])
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        name       text PRIMARY KEY,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`)
      const applied = new Map(
        (await client.query<{ name: string; checksum: string }>("SELECT name, checksum FROM schema_migrations")).rows
          .map((row) => [row.name, row.checksum])
      )
      const changed = files.filter((file) => applied.has(file.name) && applied.get(file.name) !== file.checksum)
      if (changed.length > 0) {
        throw new Error(`migrations changed after they were applied: ${changed.map((file) => file.name).join(", ")}`)
      }
      const pending = files.filter((file) => !applied.has(file.name))
      for (const file of pending) {
        await client.query("BEGIN")
        try {
          await client.query(file.sql)
          await client.query("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", [file.name, file.checksum])
          await client.query("COMMIT")
        } catch (error) {
          await client.query("ROLLBACK")
          throw new Error(`migration ${file.name} failed: ${error instanceof Error ? error.message : String(error)}`)
        }
      }
      return pending.map((file) => file.name)
    } finally {
      // The lock also ends with the connection: a failed unlock must not hide the error that got here.
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [LOCK_KEY]).catch(() => {})
    }
  })
}
