/**
 * Real-PostgreSQL test support: a fresh database per test run (created in global setup, dropped in
 * teardown), databases of a test's own, and a small client to look at what the audit wrote.
 */
import { randomBytes } from "node:crypto"
import pg from "pg"
import { inject } from "vitest"
import { ensureDatabase, migrate } from "../../src/infra/pg/MigrationRunner.ts"

/** The server tests create their databases on: DATABASE_URL's, or the local one. */
const serverUrl = new URL(process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres")

export const databaseUrlNamed = (name: string, server: URL = serverUrl): string => {
  const url = new URL(server)
  url.pathname = `/${name}`
  return url.toString()
}

/** A new database with every migration applied; `tag` says which test made it. */
export const createTestDatabase = async (tag: string, server: URL = serverUrl): Promise<string> => {
  if (!/^[a-z0-9_]+$/.test(tag)) throw new Error(`tag must be [a-z0-9_]+: ${tag}`)
  const url = databaseUrlNamed(`synckairos_test_${tag}_${randomBytes(4).toString("hex")}`, server)
  await ensureDatabase(url)
  await migrate(url)
  return url
}

export const dropDatabase = async (url: string): Promise<void> => {
  const name = decodeURIComponent(new URL(url).pathname.slice(1))
  const admin = new pg.Client({ connectionString: databaseUrlNamed("postgres", new URL(url)) })
  await admin.connect()
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
  } finally {
    await admin.end()
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The fresh database of this test run, migrated. */
    databaseUrl: string
  }
}

/** The run's database (integration tests only: global setup creates it). */
export const testDatabaseUrl = (): string => inject("databaseUrl")

export interface AuditedEvent {
  readonly session_id: string
  readonly version: number
  readonly event_id: string
  readonly type: string
  readonly at_ms: number
  readonly payload: unknown
}

/** A plain client on `url` for assertions. */
export const auditReader = (url: string) => {
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  return {
    /** Every audited event of these sessions, by session then version. */
    events: async (sessionIds: ReadonlyArray<string>): Promise<Array<AuditedEvent>> =>
      (await pool.query<AuditedEvent>(
        `SELECT session_id::text, version, event_id, type, (extract(epoch FROM at) * 1000)::float8 AS at_ms, payload
         FROM session_events WHERE session_id = ANY($1::uuid[]) ORDER BY session_id, version`,
        [sessionIds]
      )).rows,
    session: async (sessionId: string) =>
      (await pool.query(`SELECT * FROM sessions WHERE session_id = $1`, [sessionId])).rows[0] as Record<string, unknown> | undefined,
    query: <R extends pg.QueryResultRow>(text: string, values: ReadonlyArray<unknown> = []) => pool.query<R>(text, [...values]),
    close: () => pool.end()
  }
}
