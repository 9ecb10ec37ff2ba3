/**
 * A redis-server and a PostgreSQL server of the bench's own, on free loopback ports with their data in
 * temporary directories: their CPU is then the bench's load alone, and their memory its data alone.
 */
import { type ChildProcess, execFileSync, spawn, type SpawnOptions } from "node:child_process"
import { chown, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { Redis } from "ioredis"
import pg from "pg"
import { freePort } from "./service.ts"

export interface OwnServer {
  readonly url: string
  /** The server's main process (PostgreSQL's postmaster): with its children, all the server's CPU. */
  readonly pid: number
  readonly stop: () => Promise<void>
}

const exitOf = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))

/** Spawns `command` and waits until `answers()` succeeds; kills it if it never does. */
const launch = async (
  what: string,
  command: string,
  args: ReadonlyArray<string>,
  options: SpawnOptions,
  answers: () => Promise<void>
): Promise<ChildProcess> => {
  const child = spawn(command, args, { ...options, stdio: "ignore" })
  const killOnExit = () => child.kill("SIGKILL")
  process.once("exit", killOnExit)
  child.once("exit", () => process.removeListener("exit", killOnExit))
  for (let attempt = 0; ; attempt++) {
    try {
      await answers()
      return child
    } catch (error) {
      if (attempt > 400 || child.exitCode !== null) {
        child.kill("SIGKILL")
        throw new Error(`${what} did not start: ${String(error)}`)
      }
      await sleep(50)
    }
  }
}

/**
 * redis-server configured as the project deploys it (docker-compose.yml): AOF with fsync every second,
 * never evicting.
 */
export const startRedisServer = async (): Promise<OwnServer> => {
  const dir = await mkdtemp(path.join(tmpdir(), "synckairos-bench-redis-"))
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  const args = [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
    "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"
  ]
  const child = await launch("redis-server", "redis-server", args, {}, async () => {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    probe.on("error", () => {
      // Refused until the server listens: launch() retries.
    })
    try {
      await probe.connect()
      await probe.ping()
    } finally {
      probe.disconnect()
    }
  })
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill("SIGTERM")
      await exitOf(child)
      await rm(dir, { recursive: true, force: true })
    }
  }
}

export interface OwnPostgres extends OwnServer {
  /** The URL of database `name` on this server (the service creates it when missing). */
  readonly databaseUrl: (name: string) => string
  readonly dropDatabase: (name: string) => Promise<void>
}

/** initdb and postgres refuse to run as root: as root they run as the `postgres` user. */
export const postgresUser = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"]).toString().trim())
  return { uid: id("-u"), gid: id("-g") }
}

/** A PostgreSQL server with the distribution's defaults (durable, as deployed) on a free port. */
export const startPostgresServer = async (): Promise<OwnPostgres> => {
  const bindir = execFileSync("pg_config", ["--bindir"]).toString().trim()
  const user = postgresUser()
  const dir = await mkdtemp(path.join(tmpdir(), "synckairos-bench-pg-"))
  if (user !== undefined) await chown(dir, user.uid, user.gid)
  const data = path.join(dir, "data")
  execFileSync(path.join(bindir, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"], { ...user, stdio: "ignore" })
  const port = await freePort()
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const admin = async <A>(work: (client: pg.Client) => Promise<A>): Promise<A> => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
    client.on("error", () => {
      // Reported by the query that fails.
    })
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end().catch(() => undefined)
    }
  }
  const child = await launch(
    "postgres",
    path.join(bindir, "postgres"),
    ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"],
    { ...user },
    () => admin(async () => undefined)
  )
  return {
    url,
    pid: child.pid!,
    databaseUrl: (name) => `postgres://postgres@127.0.0.1:${port}/${name}`,
    dropDatabase: (name) => admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
    stop: async () => {
      child.kill("SIGINT") // fast shutdown
      await exitOf(child)
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** Rows in `table` of the database at `url`. */
export const countRows = async (url: string, table: string): Promise<number> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const result = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
    return result.rows[0]?.n ?? 0
  } finally {
    await client.end()
  }
}
