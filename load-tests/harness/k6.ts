import { spawn } from "node:child_process"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"

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

interface SummaryMetric {
  readonly [stat: string]: number | undefined
}

const SWITCH_DURATION = "http_req_duration{name:switch}"
const SWITCH_FAILED = "http_req_failed{name:switch}"
const TAIL_LINES = 40

/**
 * Runs a project k6 script (`k6 run -e NAME=value … script`) and reads its summary export. The script
 * must tag its switch requests `name:switch` and declare thresholds on them, so that k6 reports them
 * apart from its setup's requests.
 */
export const runK6 = async (options: {
  readonly binary: string
  readonly script: string
  readonly env: Record<string, string>
  readonly cwd: string
}): Promise<K6Run> => {
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
    const summary = JSON.parse(text) as { metrics: Record<string, SummaryMetric> }
    const metric = (name: string): SummaryMetric => summary.metrics[name] ?? {}
    const duration = metric(SWITCH_DURATION)
    const stat = (m: SummaryMetric, name: string) => Math.round((m[name] ?? Number.NaN) * 1000) / 1000
    const switches = metric("iterations")["count"] ?? 0
    return {
      exitCode,
      switches,
      failedSwitches: Math.round((metric(SWITCH_FAILED)["value"] ?? 0) * switches),
      droppedIterations: metric("dropped_iterations")["count"] ?? 0,
      latencyMs: { p50: stat(duration, "med"), p95: stat(duration, "p(95)"), p99: stat(duration, "p(99)"), max: stat(duration, "max") },
      summary,
      outputTail: tail
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
