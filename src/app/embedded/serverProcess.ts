/**
 * A database server this process runs for itself (redis-server, postgres): started in its own process
 * group, so a Ctrl-C in the terminal reaches only the service, which drains first and then stops the
 * server; signalled on any exit of the service, so a crash at start leaves no server behind.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { open, readFile } from "node:fs/promises"

export interface ServerProcess {
  readonly pid: number
  /** Asks the server to shut down and waits until it has exited. */
  readonly stop: () => Promise<void>
  /** Kills the server at once (SIGKILL), as a crash would, and waits until it has exited. */
  readonly kill: () => Promise<void>
}

/** A started server as the service uses it. */
export interface EmbeddedServer {
  readonly url: string
  readonly stop: () => Promise<void>
}

export interface ServerLaunch {
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** The server's output goes here, appended. */
  readonly logFile: string
  /** The unprivileged user to run as (PostgreSQL refuses root). */
  readonly user?: { readonly uid: number; readonly gid: number } | undefined
  /** The signal that shuts the server down cleanly. */
  readonly stopSignal: NodeJS.Signals
  /** Resolves true once the server serves. */
  readonly ready: () => Promise<boolean>
  readonly startTimeoutMs: number
}

const STOP_TIMEOUT_MS = 30_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The system error's code (`ENOENT`, `EPERM`, ...), if `error` is one. */
export const errorCodeOf = (error: unknown): string | undefined =>
  error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCodeOf(error) === "EPERM"
  }
}

const exitOf = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))

const lastLines = async (file: string) => (await readFile(file, "utf8").catch(() => "")).trim().split("\n").slice(-5).join("\n")

/** Whether process `pid` is alive and runs `program` (Linux: /proc; elsewhere never known, so false). */
export const runs = async (pid: number, program: string): Promise<boolean> =>
  Number.isInteger(pid) && pid > 0 && isAlive(pid) &&
  (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).includes(program)

/**
 * Stops a server left running by an earlier start that was killed before it could stop it, as named
 * by the server's own pid file; only when that process is the named program (a pid file that outlived
 * a reboot may name anything).
 */
export const stopLeftover = async (pidFile: string, program: string, signal: NodeJS.Signals): Promise<void> => {
  const pid = Number.parseInt((await readFile(pidFile, "utf8").catch(() => "")).split("\n")[0] ?? "", 10)
  if (!(await runs(pid, program))) return
  process.kill(pid, signal)
  for (const deadline = Date.now() + STOP_TIMEOUT_MS; isAlive(pid) && Date.now() < deadline;) await sleep(100)
  if (isAlive(pid)) process.kill(pid, "SIGKILL")
}

export const launchServer = async (launch: ServerLaunch): Promise<ServerProcess> => {
  const log = await open(launch.logFile, "a")
  const child = spawn(launch.command, launch.args, {
    detached: true,
    stdio: ["ignore", log.fd, log.fd],
    ...(launch.user === undefined ? {} : { uid: launch.user.uid, gid: launch.user.gid })
  })
  // A program missing from PATH fails here, before there is anything to stop.
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve)
    child.once("error", reject)
  })
  try {
    await spawned
  } finally {
    await log.close()
  }
  // Synchronous, as an exit listener must be: the server shuts itself down after this process is gone.
  const signalOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(launch.stopSignal)
  }
  process.on("exit", signalOnExit)
  const kill = async () => {
    child.kill("SIGKILL")
    await exitOf(child)
    process.removeListener("exit", signalOnExit)
  }
  const stop = async () => {
    signalOnExit()
    const stopped = await Promise.race([exitOf(child).then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)])
    if (!stopped) {
      child.kill("SIGKILL")
      await exitOf(child)
    }
    process.removeListener("exit", signalOnExit)
  }

  try {
    for (const deadline = Date.now() + launch.startTimeoutMs; !(await launch.ready());) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${launch.command} exited at start (see ${launch.logFile}):\n${await lastLines(launch.logFile)}`)
      }
      if (Date.now() > deadline) throw new Error(`${launch.command} did not answer within ${launch.startTimeoutMs} ms (see ${launch.logFile})`)
      await sleep(100)
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { pid: child.pid!, stop, kill }
}
