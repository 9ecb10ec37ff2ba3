/**
 * A PostgreSQL server of a test's (or a bench's) own: initdb in a temp dir with the distribution's
 * server binaries, on a free port, started as the service starts its embedded one. A test may stop and
 * start it again.
 */
import { execFileSync } from "node:child_process"
import { chown, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import pg from "pg"
import { freePort } from "../../src/app/embedded/ports.ts"
import { accepts } from "../../src/app/embedded/postgres.ts"
import { launchServer, type ServerProcess } from "../../src/app/embedded/serverProcess.ts"

export interface OwnPostgres {
  /** The server, e.g. for `createTestDatabase(tag, server)`. */
  readonly server: URL
  /** The postmaster now (a restart makes another): with its children, all the server's CPU. */
  readonly pid: () => number
  /** The URL of database `name` on this server (the service creates it when missing). */
  readonly databaseUrl: (name: string) => string
  readonly dropDatabase: (name: string) => Promise<void>
  /** Fast shutdown (clients are disconnected), waiting until the server has exited. */
  readonly stop: () => Promise<void>
  /** The same server again, on the same port and data. */
  readonly start: () => Promise<void>
  readonly close: () => Promise<void>
}

/** initdb and postgres refuse to run as root: as root they run as the distribution's `postgres` user. */
const postgresUser = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"]).toString().trim())
  return { uid: id("-u"), gid: id("-g") }
}

/**
 * durable: the distribution's defaults, as deployed (the benches). Otherwise no fsync: durability is not
 * under test, and the tests run faster.
 */
export const startOwnPostgres = async (options: { readonly durable?: boolean } = {}): Promise<OwnPostgres> => {
  const bindir = execFileSync("pg_config", ["--bindir"]).toString().trim()
  const user = postgresUser()
  const dir = await mkdtemp(path.join(tmpdir(), "synckairos-pg-"))
  if (user !== undefined) await chown(dir, user.uid, user.gid)
  const data = path.join(dir, "data")
  execFileSync(path.join(bindir, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"], {
    ...user,
    stdio: "ignore"
  })
  const port = await freePort()
  const server = new URL(`postgres://postgres@127.0.0.1:${port}/postgres`)
  const databaseUrl = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`
  const launch = () =>
    launchServer({
      command: path.join(bindir, "postgres"),
      args: [
        "-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
        ...(options.durable === true ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
      ],
      logFile: path.join(dir, "server.log"),
      user,
      stopSignal: "SIGINT",
      ready: () => accepts(server.toString()),
      startTimeoutMs: 30_000
    })

  let running: ServerProcess = await launch()
  return {
    server,
    pid: () => running.pid,
    databaseUrl,
    dropDatabase: async (name) => {
      const client = new pg.Client({ connectionString: server.toString() })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
    stop: () => running.stop(),
    start: async () => {
      running = await launch()
    },
    close: async () => {
      await running.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
