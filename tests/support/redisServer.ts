/**
 * A redis-server of a test's (or a bench's) own, on a free port, started and stopped as the service
 * starts its embedded one: the test may crash and restart it with AOF in a temp dir (it comes back with
 * its data), or without persistence (it comes back empty).
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { answers, freePort } from "../../src/app/embedded/ports.ts"
import { launchServer, type ServerProcess } from "../../src/app/embedded/serverProcess.ts"

export interface OwnRedis {
  readonly url: string
  /** The server process now (a restart makes another). */
  readonly pid: () => number
  /** SIGKILL, then the same server again on the same port and data: what a crash and restart look like. */
  readonly crashAndRestart: (downMs: number) => Promise<void>
  readonly stop: () => Promise<void>
}

/**
 * always: every reply, including a blocked XREAD's, goes out only after its write is on disk, so a
 * crash never takes back an event a reader has already seen (the fault tests' default).
 * everysec: as docker-compose.yml deploys it (the benches). none: a restart comes back empty.
 */
export type RedisPersistence = "always" | "everysec" | "none"

export const startOwnRedis = async (options: { readonly persistence?: RedisPersistence } = {}): Promise<OwnRedis> => {
  const persistence = options.persistence ?? "always"
  const dir = await mkdtemp(path.join(tmpdir(), "synckairos-redis-"))
  const port = await freePort()
  const launch = () =>
    launchServer({
      command: "redis-server",
      args: [
        "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--maxmemory-policy", "noeviction",
        // DEBUG SLEEP stalls the server in the fault tests.
        "--enable-debug-command", "local",
        ...(persistence === "none" ? ["--appendonly", "no"] : ["--appendonly", "yes", "--appendfsync", persistence])
      ],
      logFile: path.join(dir, "redis.log"),
      stopSignal: "SIGTERM",
      ready: () => answers("127.0.0.1", port),
      startTimeoutMs: 30_000
    })

  let server: ServerProcess = await launch()
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: () => server.pid,
    crashAndRestart: async (downMs) => {
      await server.kill()
      await new Promise((resolve) => setTimeout(resolve, downMs))
      server = await launch()
    },
    stop: async () => {
      await server.kill()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
