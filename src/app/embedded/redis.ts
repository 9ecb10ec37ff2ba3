/** A redis-server of the service's own, for a first start on a machine without Redis. */
import { mkdir } from "node:fs/promises"
import path from "node:path"
import { answers, freePort } from "./ports.ts"
import { type EmbeddedServer, errorCodeOf, launchServer, stopLeftover } from "./serverProcess.ts"

export class RedisServerMissing extends Error {
  constructor() {
    super(
      "SyncKairos needs Redis 7 or later. REDIS_URL is not set and nothing answers at 127.0.0.1:6379, so it " +
        "would start a redis-server of its own, but there is no redis-server on PATH. Install one and run " +
        "`npm start` again (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS with Homebrew: " +
        "`brew install redis`), or start the project's Redis and PostgreSQL with `docker compose up -d redis postgres`, " +
        "or set REDIS_URL to a Redis you already have (e.g. REDIS_URL=redis://host:6379)."
    )
  }
}

/** Loopback only, AOF under `directory`, never evicts (sessions and queues must not vanish). */
export const startEmbeddedRedis = async (directory: string): Promise<EmbeddedServer> => {
  await mkdir(directory, { recursive: true })
  const pidFile = path.join(directory, "redis.pid")
  await stopLeftover(pidFile, "redis-server", "SIGTERM")
  const port = await freePort()
  const server = await launchServer({
    command: "redis-server",
    args: [
      "--bind", "127.0.0.1", "--port", String(port), "--dir", directory, "--pidfile", pidFile,
      "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"
    ],
    logFile: path.join(directory, "redis.log"),
    stopSignal: "SIGTERM",
    ready: () => answers("127.0.0.1", port),
    startTimeoutMs: 30_000
  }).catch((error: unknown) => {
    throw errorCodeOf(error) === "ENOENT" ? new RedisServerMissing() : error
  })
  return { url: `redis://127.0.0.1:${port}`, stop: server.stop }
}
