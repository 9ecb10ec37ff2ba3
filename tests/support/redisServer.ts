/**
 * A redis-server of a test's own, on a free port, that the test may crash and restart: with AOF in a
 * temp dir (it comes back with its data), or without persistence (it comes back empty).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { Redis } from "ioredis"
import { freePort } from "./process.ts"

export interface OwnRedis {
  readonly url: string
  /** SIGKILL, then the same server again on the same port and data: what a crash and restart look like. */
  readonly crashAndRestart: (downMs: number) => Promise<void>
  readonly stop: () => Promise<void>
}

const exitOf = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))

export const startOwnRedis = async (options: { readonly persistence?: boolean } = {}): Promise<OwnRedis> => {
  const dir = await mkdtemp(path.join(tmpdir(), "synckairos-redis-"))
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  // appendfsync always: every reply, including a blocked XREAD's, goes out only after its write is on
  // disk, so a crash never takes back an event a reader has already seen.
  const args = [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--maxmemory-policy", "noeviction",
    // DEBUG SLEEP stalls the server in the fault tests.
    "--enable-debug-command", "local",
    ...(options.persistence === false ? ["--appendonly", "no"] : ["--appendonly", "yes", "--appendfsync", "always"])
  ]
  const launch = async () => {
    const child = spawn("redis-server", args, { stdio: "ignore" })
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    probe.on("error", () => {
      // Refused until the server listens; the loop below retries.
    })
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await probe.connect()
          await probe.ping()
          return child
        } catch (error) {
          if (attempt > 100 || child.exitCode !== null) throw new Error(`redis-server did not start: ${String(error)}`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    } finally {
      probe.disconnect()
    }
  }

  let child = await launch()
  return {
    url,
    crashAndRestart: async (downMs) => {
      child.kill("SIGKILL")
      await exitOf(child)
      await new Promise((resolve) => setTimeout(resolve, downMs))
      child = await launch()
    },
    stop: async () => {
      child.kill("SIGKILL")
      await exitOf(child)
      await rm(dir, { recursive: true, force: true })
    }
  }
}
