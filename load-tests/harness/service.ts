import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { request } from "undici"
import { freePort } from "../../src/app/embedded/ports.ts"

export { freePort }

export interface ServiceOptions {
  /** The repository root, built (`npm run build`): the instance runs dist/app/main.js, as in production. */
  readonly cwd: string
  /** Extra environment; PORT and HOST are set by this module. */
  readonly env: Record<string, string>
  /** Role argument of main.js. Default "api". */
  readonly role?: string
  /** Script to run instead of dist/app/main.js, relative to cwd (the fan-out bench's floor server). */
  readonly entryPoint?: string
  /** Extra node flags, e.g. ["--cpu-prof", "--cpu-prof-dir", dir]. */
  readonly nodeArgs?: ReadonlyArray<string>
  readonly readyTimeoutMs?: number
  /** How long stop() waits after SIGTERM before SIGKILL. Default 15 s. */
  readonly stopTimeoutMs?: number
}

export interface RunningService {
  readonly origin: string
  readonly port: number
  readonly pid: number
  /** Log lines at level warn or above (pino numbers ≥ 40 or labels), or not JSON at all, since start. */
  readonly warnings: () => number
  /** The first of those lines (up to 20). */
  readonly warningLines: () => ReadonlyArray<string>
  /** The last lines the service printed (stdout and stderr). */
  readonly logTail: () => ReadonlyArray<string>
  /** SIGTERM, then SIGKILL after the timeout; resolves with the exit code (null if killed). */
  readonly stop: () => Promise<number | null>
  readonly exited: () => boolean
}

const TAIL_LINES = 60
const WARNING_LABELS = new Set(["warn", "warning", "error", "fatal"])

/** A JSON log line at warn or above (pino's numeric levels or labels), or any line that is not JSON. */
const isWarning = (line: string): boolean => {
  const level = /"level":\s*(?:(\d+)|"([a-z]+)")/i.exec(line)
  if (level === null) return true
  if (level[1] !== undefined) return Number(level[1]) >= 40
  return WARNING_LABELS.has((level[2] ?? "").toLowerCase())
}

const answersReady = async (origin: string): Promise<boolean> => {
  try {
    const response = await request(`${origin}/ready`, { headersTimeout: 2000, bodyTimeout: 2000 })
    await response.body.dump()
    return response.statusCode === 200
  } catch {
    return false // not listening yet
  }
}

const ENTRY_POINT = "dist/app/main.js"

/**
 * Spawns one SyncKairos instance (`node dist/app/main.js api`, so the child is the server itself, not
 * an npm wrapper) on a free loopback port and waits for `GET /ready` to answer 200. The child is also
 * killed if this process exits without calling stop().
 */
export const startService = async (options: ServiceOptions): Promise<RunningService> => {
  const entryPoint = options.entryPoint ?? ENTRY_POINT
  if (!existsSync(path.join(options.cwd, entryPoint))) {
    throw new Error(`${entryPoint} is missing: run \`npm run build\` first (the bench scripts do)`)
  }
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), entryPoint, options.role ?? "api"],
    {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, PORT: String(port), HOST: "127.0.0.1" },
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  const pid = child.pid
  if (pid === undefined) throw new Error("could not spawn the service")

  const tail: Array<string> = []
  const warningLines: Array<string> = []
  let warnings = 0
  let exitCode: number | null = null
  let hasExited = false
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", (code) => {
      exitCode = code
      hasExited = true
      resolve()
    })
  })
  const onLine = (line: string) => {
    if (line.length === 0) return
    if (tail.length >= TAIL_LINES) tail.shift()
    tail.push(line)
    if (isWarning(line)) {
      warnings++
      if (warningLines.length < 20) warningLines.push(line)
    }
  }
  for (const stream of [child.stdout, child.stderr]) {
    let pending = ""
    stream?.setEncoding("utf8")
    stream?.on("data", (chunk: string) => {
      const lines = (pending + chunk).split("\n")
      pending = lines.pop() ?? ""
      for (const line of lines) onLine(line)
    })
  }
  const killOnExit = () => {
    if (!hasExited) child.kill("SIGKILL")
  }
  process.once("exit", killOnExit)

  const stop = async (): Promise<number | null> => {
    if (!hasExited) {
      child.kill("SIGTERM")
      const timeout = sleep(options.stopTimeoutMs ?? 15_000).then(() => "timeout" as const)
      if ((await Promise.race([exitedPromise, timeout])) === "timeout" && !hasExited) {
        child.kill("SIGKILL")
        await exitedPromise
      }
    }
    process.removeListener("exit", killOnExit)
    return exitCode
  }

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000)
  for (;;) {
    if (hasExited) {
      throw new Error(`the service exited (code ${exitCode}) before it was ready:\n${tail.join("\n")}`)
    }
    // Every role, the worker too, answers /ready (a log line would hide behind LOG_LEVEL=warn).
    if (await answersReady(origin)) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`the service did not become ready within the timeout:\n${tail.join("\n")}`)
    }
    await sleep(100)
  }

  return {
    origin,
    port,
    pid,
    warnings: () => warnings,
    warningLines: () => [...warningLines],
    logTail: () => [...tail],
    stop,
    exited: () => hasExited
  }
}
