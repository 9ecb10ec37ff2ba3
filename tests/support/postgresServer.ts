/** A PostgreSQL server of a test's own (initdb in a temp dir, on a free port) that the test may stop and start again. */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chown, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import pg from "pg"
import { postgresUser } from "../../load-tests/harness/servers.ts"
import { freePort } from "./process.ts"

export interface OwnPostgres {
  /** The server, e.g. for `createTestDatabase(tag, server)`. */
  readonly server: URL
  /** Fast shutdown (clients are disconnected), waiting until the server has exited. */
  readonly stop: () => Promise<void>
  /** The same server again, on the same port and data. */
  readonly start: () => Promise<void>
  readonly close: () => Promise<void>
}

const exitOf = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))

export const startOwnPostgres = async (): Promise<OwnPostgres> => {
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

  const launch = async () => {
    // Durability is not under test: no fsync keeps the test fast.
    const child = spawn(path.join(bindir, "postgres"), [
      "-D", data, "-p", String(port), "-k", dir,
      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"
    ], { ...user, stdio: "ignore" })
    for (let attempt = 0; ; attempt++) {
      const probe = new pg.Client({ connectionString: server.toString(), connectionTimeoutMillis: 1000 })
      probe.on("error", () => {})
      try {
        await probe.connect()
        await probe.end()
        return child
      } catch (error) {
        if (attempt > 200 || child.exitCode !== null) throw new Error(`postgres did not start: ${String(error)}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }

  let child = await launch()
  const stop = async () => {
    child.kill("SIGINT")
    await exitOf(child)
  }
  return {
    server,
    stop,
    start: async () => {
      child = await launch()
    },
    close: async () => {
      await stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
