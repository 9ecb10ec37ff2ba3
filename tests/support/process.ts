/**
 * Runs the service as a real process, for tests that signal or kill it: from the TypeScript source
 * (through tsx), or as `npm start` runs it, from the build in dist/.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { freePort } from "../../src/app/embedded/ports.ts"
import { testDatabaseUrl } from "./postgres.ts"
import { redisUrl } from "./redis.ts"

export { freePort }

export interface ServiceProcess {
  readonly baseUrl: string
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

export const spawnService = async (
  role: string,
  env: Record<string, string>,
  from: "source" | "build" = "source"
): Promise<ServiceProcess> => {
  const port = await freePort()
  let output = ""
  const entry = from === "build" ? ["dist/app/main.js"] : ["--import", "tsx", "src/app/main.ts"]
  const child = spawn(process.execPath, [...entry, role], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      DATABASE_URL: testDatabaseUrl(),
      LOG_LEVEL: "info",
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout!.on("data", (chunk) => (output += String(chunk)))
  child.stderr!.on("data", (chunk) => (output += String(chunk)))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const baseUrl = `http://127.0.0.1:${port}`
  // Generous: on a busy shared host, starting from the TypeScript source alone can take tens of seconds.
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service exited early:\n${output}`)
    // Every role serves /ready (a worker only that, health, time and metrics); the "ready" log line
    // is an info line, which LOG_LEVEL may hide. Up means Redis answers: a raised audit alarm (503
    // "degraded", e.g. a lag left by an earlier process) does not keep a process from serving.
    const ready = await fetch(`${baseUrl}/ready`).then(
      async (r) => r.ok || (r.status === 503 && ((await r.json()) as { status?: string }).status === "degraded"),
      () => false
    )
    if (ready) return { baseUrl, child, output: () => output, exited }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill("SIGKILL")
  throw new Error(`service did not become ready:\n${output}`)
}
