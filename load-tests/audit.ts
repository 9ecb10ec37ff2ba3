/**
 * Audit bench: `npm run bench:audit [-- --runs N --events N --rate N --duration-s S]`.
 *
 * On a PostgreSQL database of its own (created on DATABASE_URL's server, dropped at the end) and its
 * own Redis key prefix, it starts an API instance and creates the session fixture, then:
 *  1. throughput, N runs: with no worker running, commits a backlog of switch events (default 60,000)
 *     into the shard logs, starts a worker and times the drain into PostgreSQL: events per second
 *     from the first row written to the last (the worker's start-up is not counted);
 *  2. lag, N runs: with a worker running, sends a steady open-loop rate of switches (default 2,000/s
 *     for 20 s, one event each) and reads each event's audit lag: the instant its row was written
 *     minus the commit instant in its stream id (both clocks are this machine's).
 * Medians of the runs are reported against the targets (at least 5,000 events/s; lag p99 under 1 s).
 */
import { randomBytes } from "node:crypto"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { setTimeout as sleep } from "node:timers/promises"
import { BenchRun } from "./harness/benchRun.ts"
import { makePool } from "./harness/pool.ts"
import { median, writeReport } from "./harness/report.ts"
import { processCpuSeconds } from "./harness/resources.ts"
import {
  auditDatabase,
  BACKLOG_CONNECTIONS,
  createBenchDatabase,
  dropBenchDatabase,
  BACKLOG_EVENTS,
  LAG_DURATION_S,
  LAG_RATE_PER_SEC,
  type Projection,
  sendSwitches,
  steadySwitches
} from "./scenarios/audit.ts"
import { createSessions, SESSIONS } from "./scenarios/sessions.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, "..")
const THROUGHPUT_TARGET = 5000
const LAG_P99_TARGET_MS = 1000
const DRAIN_TIMEOUT_MS = 300_000

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    events: { type: "string", default: String(BACKLOG_EVENTS) },
    rate: { type: "string", default: String(LAG_RATE_PER_SEC) },
    "duration-s": { type: "string", default: String(LAG_DURATION_S) },
    profile: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  }
})
const runs = Number(values.runs)
const backlogEvents = Number(values.events)
const rate = Number(values.rate)
const durationMs = Number(values["duration-s"]) * 1000
const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"

interface ThroughputRun extends Projection {
  readonly run: number
  /** From spawning the worker to the last row: its start-up included. */
  readonly drainMs: number
  readonly workerCpuPct: number | null
}

interface LagRun extends Projection {
  readonly run: number
  readonly offered: number
  readonly switchP99Ms: number
  readonly switchErrors: number
  readonly workerCpuPct: number | null
}

/** The share of one core `pid` used while `work` ran. */
const cpuPctOf = async <A>(pid: number, work: () => Promise<A>): Promise<{ result: A; cpuPct: number | null }> => {
  const [before, t0] = [await processCpuSeconds(pid), performance.now()]
  const result = await work()
  const after = await processCpuSeconds(pid)
  const wall = (performance.now() - t0) / 1000
  return { result, cpuPct: before === null || after === null ? null : Math.round(((after - before) / wall) * 1000) / 10 }
}

const main = async (): Promise<number> => {
  if (values.help) {
    console.log("usage: npm run bench:audit -- [--runs N] [--events N] [--rate N] [--duration-s S] [--profile (the steady runs' worker)]")
    return 0
  }
  const bench = await BenchRun.open("audit bench", redisUrl)
  const { startedAt, machine } = bench
  const server = new URL(process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres")
  server.pathname = `/synckairos_bench_${randomBytes(4).toString("hex")}`
  const databaseUrl = server.toString()
  const env = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: bench.prefix, DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" }
  // A worker is known ready by its "synckairos ready" line, logged at info.
  const start = (role: "api" | "worker", nodeArgs: ReadonlyArray<string> = []) =>
    bench.start({ cwd: repoRoot, env: role === "worker" ? { ...env, LOG_LEVEL: "info" } : env, role, nodeArgs })

  try {
    await createBenchDatabase(repoRoot, databaseUrl)
    const db = auditDatabase(databaseUrl)
    bench.atCleanup("after instances stop", async () => {
      await db.close()
      await dropBenchDatabase(databaseUrl)
    })
    const api = await start("api")
    const pool = makePool(api.origin, Math.max(BACKLOG_CONNECTIONS, 256))

    // The fixture's own events are audited before anything is measured.
    let worker = await start("worker")
    const fixture = await createSessions(pool, SESSIONS)
    let expected = 2 * SESSIONS
    if (!(await db.waitForCount(expected, DRAIN_TIMEOUT_MS))) throw new Error("the fixture's events were not audited")
    await bench.stop(worker)

    const throughput: Array<ThroughputRun> = []
    for (let run = 1; run <= runs; run++) {
      const sent = await sendSwitches(pool, fixture, backlogEvents, BACKLOG_CONNECTIONS)
      expected += sent.ok
      const since = Date.now()
      worker = await start("worker")
      const { result: drained, cpuPct } = await cpuPctOf(worker.pid, () => db.waitForCount(expected, DRAIN_TIMEOUT_MS))
      if (!drained) throw new Error(`run ${run}: the backlog did not drain in ${DRAIN_TIMEOUT_MS / 1000} s`)
      const projection = await db.projectedSince(since)
      const drainMs = Math.round(projection.lastMs - since)
      throughput.push({ run, ...projection, drainMs, workerCpuPct: cpuPct })
      console.log(`throughput run ${run}: ${projection.events} events in ${projection.spanMs} ms = ${projection.eventsPerSec} events/s ` +
        `(${drainMs} ms from spawning the worker) ` +
        `(backlog ${sent.ok} switches, ${sent.errors} errors; worker cpu ${cpuPct} %)`)
      await bench.stop(worker)
    }

    worker = await start("worker", values.profile ? ["--cpu-prof", "--cpu-prof-dir", path.join(here, "results", "profiles")] : [])
    expected += (await steadySwitches(pool, fixture, rate, 2000)).ok // warm-up
    if (!(await db.waitForCount(expected, DRAIN_TIMEOUT_MS))) throw new Error("warm-up not audited")
    const lag: Array<LagRun> = []
    for (let run = 1; run <= runs; run++) {
      await sleep(1000)
      const since = Date.now()
      const { result: switches, cpuPct } = await cpuPctOf(worker.pid, async () => {
        const result = await steadySwitches(pool, fixture, rate, durationMs)
        expected += result.ok
        if (!(await db.waitForCount(expected, DRAIN_TIMEOUT_MS))) throw new Error(`lag run ${run} did not drain`)
        return result
      })
      const projection = await db.projectedSince(since)
      lag.push({ run, ...projection, offered: rate, switchP99Ms: switches.latency.p99, switchErrors: switches.errors, workerCpuPct: cpuPct })
      console.log(`lag run ${run}: ${projection.events} events at ${rate}/s, audit lag p50 ${projection.lagMs.p50} p95 ${projection.lagMs.p95} ` +
        `p99 ${projection.lagMs.p99} max ${projection.lagMs.max} ms; switch p99 ${switches.latency.p99} ms, ${switches.errors} errors; worker cpu ${cpuPct} %`)
    }
    await pool.close()
    const warnings = [api, worker].map((s) => s.warnings())
    const { keysRemoved } = await bench.cleanup()

    const eventsPerSec = median(throughput.map((r) => r.eventsPerSec))
    const lagP99 = median(lag.map((r) => r.lagMs.p99))
    const errors = lag.reduce((sum, r) => sum + r.switchErrors, 0)
    console.log(`\nmedian of ${runs} runs`)
    console.log(`  throughput: ${eventsPerSec} events/s into PostgreSQL, first row to last (target >= ${THROUGHPUT_TARGET}) — ` +
      `${eventsPerSec >= THROUGHPUT_TARGET ? "met" : "MISSED"}; drain from spawning the worker ${median(throughput.map((r) => r.drainMs))} ms`)
    console.log(`  audit lag at ${rate} events/s: p50 ${median(lag.map((r) => r.lagMs.p50))} p95 ${median(lag.map((r) => r.lagMs.p95))} ` +
      `p99 ${lagP99} max ${median(lag.map((r) => r.lagMs.max))} ms (target p99 < ${LAG_P99_TARGET_MS}) — ${lagP99 < LAG_P99_TARGET_MS ? "met" : "MISSED"}`)
    console.log(`  switch p99 under the steady rate: ${median(lag.map((r) => r.switchP99Ms))} ms; worker cpu ${median(lag.map((r) => r.workerCpuPct ?? 0))} % of a core`)
    if (warnings.some((w) => w > 0)) console.log(`instances printed ${warnings.join(" / ")} warning line(s)`)
    console.log(`bench keys removed: ${keysRemoved}, database dropped`)
    const file = await writeReport(path.join(here, "results", "audit"), startedAt, {
      tool: "synckairos load-tests/audit.ts",
      date: startedAt.toISOString(),
      machine,
      options: { runs, backlogEvents, rate, durationMs, sessions: SESSIONS },
      throughput,
      lag,
      medians: { eventsPerSec, lagP99Ms: lagP99 }
    })
    console.log(`results: ${path.relative(process.cwd(), file)}`)
    return errors === 0 && eventsPerSec >= THROUGHPUT_TARGET && lagP99 < LAG_P99_TARGET_MS ? 0 : 1
  } catch (error) {
    return bench.failed(error)
  }
}

process.exit(await main())
