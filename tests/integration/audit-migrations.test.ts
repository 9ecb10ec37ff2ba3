/**
 * The migration runner: files in order, each once, concurrent runs taking turns, edits after the fact
 * refused; and the project's migrations on a database holding data.
 */
import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultMigrationsDirectory, ensureDatabase, migrate } from "../../src/infra/pg/MigrationRunner.ts"
import { auditReader, databaseUrlNamed, dropDatabase } from "../support/postgres.ts"

let dir: string
let directory: URL
const url = databaseUrlNamed(`synckairos_test_migrations_${process.pid}_${Date.now()}`)

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "synckairos-migrations-"))
  directory = pathToFileURL(`${dir}/`)
  await writeFile(path.join(dir, "0002_second.sql"), "ALTER TABLE t ADD COLUMN b int; INSERT INTO t (a, b) VALUES (2, 2);")
  await writeFile(path.join(dir, "0001_first.sql"), "CREATE TABLE t (a int); INSERT INTO t (a) VALUES (1);")
  await writeFile(path.join(dir, "notes.txt"), "not a migration")
})
afterAll(async () => {
  await dropDatabase(url)
  await rm(dir, { recursive: true, force: true })
})

it("creates the database when it is missing, once", async () => {
  expect(await Promise.all([ensureDatabase(url), ensureDatabase(url)])).toContain(true)
  expect(await ensureDatabase(url)).toBe(false)
})

it("applies each file once, in name order, however many instances run it at once", async () => {
  const runs = await Promise.all(Array.from({ length: 5 }, () => migrate(url, directory)))
  expect(runs.flat().sort()).toEqual(["0001_first.sql", "0002_second.sql"])
  expect(runs.find((applied) => applied.length > 0)).toEqual(["0001_first.sql", "0002_second.sql"])
  expect(await migrate(url, directory)).toEqual([])
  const db = auditReader(url)
  try {
    expect((await db.query("SELECT a, b FROM t ORDER BY a")).rows).toEqual([{ a: 1, b: null }, { a: 2, b: 2 }])
  } finally {
    await db.close()
  }
})

it("refuses to run when an applied migration has changed, and rolls back a failing one", async () => {
  await writeFile(path.join(dir, "0003_broken.sql"), "INSERT INTO t (a) VALUES (3); SELECT no_such_function();")
  await expect(migrate(url, directory)).rejects.toThrow(/0003_broken.sql failed/)
  await rm(path.join(dir, "0003_broken.sql"))
  await writeFile(path.join(dir, "0001_first.sql"), "CREATE TABLE t (a int);")
  await expect(migrate(url, directory)).rejects.toThrow(/changed after they were applied: 0001_first.sql/)
  const db = auditReader(url)
  try {
    expect((await db.query("SELECT count(*)::int AS n FROM t WHERE a = 3")).rows).toEqual([{ n: 0 }])
  } finally {
    await db.close()
  }
})

describe("migration 0003 on a database audited before 0002", () => {
  const audited = databaseUrlNamed(`synckairos_test_migrations_0003_${process.pid}_${Date.now()}`)
  let stage: string
  afterAll(async () => {
    await dropDatabase(audited)
    await rm(stage, { recursive: true, force: true })
  })

  /** Copies the project's migrations named here into the staging directory and applies what is pending. */
  const migrateThrough = async (names: ReadonlyArray<string>) => {
    for (const name of names) await copyFile(new URL(name, defaultMigrationsDirectory), path.join(stage, name))
    return migrate(audited, pathToFileURL(`${stage}/`))
  }

  it("names each session's incarnation by its first audited event, before any later incarnation", async () => {
    stage = await mkdtemp(path.join(tmpdir(), "synckairos-migrations-0003-"))
    await ensureDatabase(audited)
    const project = (await readdir(defaultMigrationsDirectory)).filter((name) => name.endsWith(".sql")).sort()
    expect(await migrateThrough(["0001_audit.sql", "0002_incarnations.sql"])).toEqual(["0001_audit.sql", "0002_incarnations.sql"])
    const old = "00000000-0000-4000-8000-000000000001"
    const recreated = "00000000-0000-4000-8000-000000000002"
    const db = auditReader(audited)
    try {
      // As the code before 0002 wrote them (no incarnation: ''), and a session created again since.
      await db.query(`
        INSERT INTO session_events (session_id, version, event_id, type, at, payload) VALUES
          ($1, 1, '1000-0', 'SESSION_CREATED', now(), '{}'), ($1, 2, '1000-1', 'SESSION_STARTED', now(), '{}'),
          ($2, 2, '1100-3', 'SESSION_STARTED', now(), '{}'), ($2, 1, '1100-2', 'SESSION_CREATED', now(), '{}'),
          ($2, 3, '1200-0', 'SESSION_DELETED', now(), '{}')`, [old, recreated])
      await db.query(`INSERT INTO session_events (session_id, incarnation, version, event_id, type, at, payload) VALUES
        ($1, '1300-0', 1, '1300-0', 'SESSION_CREATED', now(), '{}')`, [recreated])
      await db.query(`INSERT INTO sessions (session_id, incarnation, status, last_version, last_event_id, last_event_at) VALUES
        ($1, '', 'running', 2, '1000-1', now()), ($2, '1300-0', 'pending', 1, '1300-0', now())`, [old, recreated])

      expect(await migrateThrough(project)).toEqual(project.slice(2))

      const events = await db.query(
        "SELECT session_id::text, incarnation, version FROM session_events ORDER BY session_id, incarnation_order(incarnation), version"
      )
      expect(events.rows).toEqual([
        { session_id: old, incarnation: "1000-0", version: 1 },
        { session_id: old, incarnation: "1000-0", version: 2 },
        { session_id: recreated, incarnation: "1100-2", version: 1 },
        { session_id: recreated, incarnation: "1100-2", version: 2 },
        { session_id: recreated, incarnation: "1100-2", version: 3 },
        { session_id: recreated, incarnation: "1300-0", version: 1 }
      ])
      const sessions = await db.query("SELECT session_id::text, incarnation FROM sessions ORDER BY session_id")
      expect(sessions.rows).toEqual([{ session_id: old, incarnation: "1000-0" }, { session_id: recreated, incarnation: "1300-0" }])
      // No row is ordered by an empty name again.
      await expect(db.query(`INSERT INTO session_events (session_id, incarnation, version, event_id, type, at, payload)
        VALUES ($1, '', 9, '1400-0', 'CYCLE_SWITCHED', now(), '{}')`, [old])).rejects.toThrow(/session_events_incarnation_named/)
    } finally {
      await db.close()
    }
  })
})
