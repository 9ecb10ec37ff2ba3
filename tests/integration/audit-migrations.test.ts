/** The migration runner: files in order, each once, concurrent runs taking turns, edits after the fact refused. */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll, expect, it } from "vitest"
import { ensureDatabase, migrate } from "../../src/infra/pg/MigrationRunner.ts"
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
