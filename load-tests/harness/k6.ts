import { execFileSync, spawn } from "node:child_process"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"

/** One metric of k6's --summary-export: its statistics by name (count, rate, med, p(99), value, min, max…). */
export interface SummaryMetric {
  readonly [stat: string]: number | Record<string, boolean> | undefined
  /** Each threshold declared on the metric, true where it was crossed. */
  readonly thresholds?: Record<string, boolean>
}

export interface K6Summary {
  /** k6's exit code: 0, or 99 when a threshold was crossed (the numbers are still valid). */
  readonly exitCode: number | null
  readonly metrics: Record<string, SummaryMetric>
  /** The thresholds crossed, as `metric: expression`. */
  readonly crossedThresholds: ReadonlyArray<string>
  /** k6's own summary (its --summary-export), for the report. */
  readonly summary: unknown
  readonly outputTail: ReadonlyArray<string>
}

export interface K6Run {
  /** k6's exit code: 0, or 99 when a threshold was crossed (the numbers are still valid). */
  readonly exitCode: number | null
  /** Switch requests sent (iterations of the scenario) and those not answered 2xx. */
  readonly switches: number
  readonly failedSwitches: number
  /** Iterations an arrival-rate scenario could not start on time (0 for a closed loop). */
  readonly droppedIterations: number
  /** http_req_duration of the switch requests, ms, measured from the send. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number }
  /** k6's own summary (its --summary-export), for the report. */
  readonly summary: unknown
  readonly outputTail: ReadonlyArray<string>
}

export interface K6Options {
  readonly binary: string
  readonly script: string
  readonly env: Record<string, string>
  readonly cwd: string
  /** Called with k6's pid once it runs, e.g. to read its CPU. */
  readonly onStart?: (pid: number) => void
}

const TAIL_LINES = 40

/** The first line of `k6 version`; throws a hint when there is no k6 at `binary`. */
export const k6Version = (binary: string): string => {
  try {
    return execFileSync(binary, ["version"]).toString().trim().split("\n")[0] ?? "unknown"
  } catch (error) {
    throw new Error(`no k6 at "${binary}" (${String(error)}): install k6 v1.6 or later, or pass --k6 PATH or set $K6`)
  }
}

/** A statistic of a summary metric, NaN when k6 did not report it. */
export const stat = (metric: SummaryMetric | undefined, name: string): number => {
  const value = metric?.[name]
  return typeof value === "number" ? value : Number.NaN
}

/** Runs a project k6 script (`k6 run -e NAME=value … script`) and reads its summary export. */
export const runK6Script = async (options: K6Options): Promise<K6Summary> => {
  const dir = await mkdtemp(path.join(tmpdir(), "synckairos-k6-"))
  const summaryFile = path.join(dir, "summary.json")
  try {
    const args = ["run", "--quiet", "--no-color", "--summary-export", summaryFile]
    for (const [name, value] of Object.entries(options.env)) args.push("-e", `${name}=${value}`)
    args.push(options.script)
    const child = spawn(options.binary, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] })
    const killOnExit = () => child.kill("SIGKILL")
    process.once("exit", killOnExit)
    child.once("exit", () => process.removeListener("exit", killOnExit))
    if (child.pid !== undefined) options.onStart?.(child.pid)
    const tail: Array<string> = []
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding("utf8")
      stream.on("data", (chunk: string) => {
        tail.push(...chunk.split("\n").filter((line) => line.trim() !== ""))
        tail.splice(0, Math.max(0, tail.length - TAIL_LINES))
      })
    }
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject)
      child.once("exit", resolve)
    })
    const text = await readFile(summaryFile, "utf8").catch(() => {
      throw new Error(`k6 exited with ${exitCode} and wrote no summary:\n${tail.join("\n")}`)
    })
    const summary: { metrics: Record<string, SummaryMetric> } = JSON.parse(text)
    const crossedThresholds = Object.entries(summary.metrics).flatMap(([name, metric]) =>
      Object.entries(metric.thresholds ?? {}).filter(([, crossed]) => crossed).map(([expression]) => `${name}: ${expression}`))
    return { exitCode, metrics: summary.metrics, crossedThresholds, summary, outputTail: tail }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The requests tagged `name:<name>` of a script with one request per iteration (switch.js, get-max.js…). */
export interface RequestStats {
  /** Requests sent (iterations of the scenario) and those not answered as expected. */
  readonly count: number
  readonly failed: number
  /** Iterations an arrival-rate scenario could not start on time (0 for a closed loop). */
  readonly droppedIterations: number
  /** http_req_duration of those requests, ms, measured from the send. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number }
}

/**
 * Reads the requests tagged `name:<name>`: the script must declare thresholds on
 * `http_req_duration{name:<name>}` and `http_req_failed{name:<name>}` so that k6 reports them apart
 * from its setup's requests.
 */
export const requestStats = (metrics: Record<string, SummaryMetric>, name: string): RequestStats => {
  const duration = metrics[`http_req_duration{name:${name}}`]
  const ms = (statistic: string) => Math.round(stat(duration, statistic) * 1000) / 1000
  const count = stat(metrics["iterations"], "count") || 0
  return {
    count,
    failed: Math.round((stat(metrics[`http_req_failed{name:${name}}`], "value") || 0) * count),
    droppedIterations: stat(metrics["dropped_iterations"], "count") || 0,
    latencyMs: { p50: ms("med"), p95: ms("p(95)"), p99: ms("p(99)"), max: ms("max") }
  }
}

/** Runs a switch script (switch.js, switch-max.js) and reads its switches. */
export const runK6 = async (options: K6Options): Promise<K6Run> => {
  const { exitCode, metrics, summary, outputTail } = await runK6Script(options)
  const switches = requestStats(metrics, "switch")
  return {
    exitCode,
    switches: switches.count,
    failedSwitches: switches.failed,
    droppedIterations: switches.droppedIterations,
    latencyMs: switches.latencyMs,
    summary,
    outputTail
  }
}
