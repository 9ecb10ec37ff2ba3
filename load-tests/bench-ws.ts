/**
 * SyncKairos WebSocket fan-out bench: `npm run bench:ws [-- options]` (see --help and load-tests/README.md).
 *
 * Each run starts a redis-server of its own (configured as docker-compose.yml deploys it) and two
 * instances, A and B, on it: SyncKairos (`node dist/app/main.js api`, with a database of its own on a
 * PostgreSQL server the sitting starts) or, with `--server floor`, load-tests/floor/server.mjs. k6 runs
 * load-tests/ws-fanout.js against BASE_URLS=A,B: 1,000 sessions with 5 sockets each alternating over A
 * and B, every VU starting at once when all sockets are synced, switches at 500/s to A for a 2 s
 * warm-up and a measured 20 s, delivery timed on B's sockets. k6 measures the deliveries and keeps the
 * thresholds; this bench reads what k6 cannot: the CPU of A, B, Redis and k6 over the window k6
 * reports, and the RSS of A and B. With `--server both` service and floor runs alternate in one
 * sitting and the ratios service / floor are printed. A crossed threshold is reported and the
 * sitting goes on; the exit code is 1 when an event was missed, repeated or late past the settle
 * time, a socket failed to connect, or a switch failed.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { setTimeout as sleep } from "node:timers/promises"
import { type OwnPostgres, startOwnPostgres } from "../tests/support/postgresServer.ts"
import { startOwnRedis } from "../tests/support/redisServer.ts"
import { CpuTimeline } from "./harness/cpuTimeline.ts"
import { type K6Summary, k6Version, runK6Script, stat } from "./harness/k6.ts"
import { type Column, exitWith, medianOfPresent, positiveOption, runsTable, writeReport } from "./harness/report.ts"
import { describeMachine, machineFacts } from "./harness/resources.ts"
import { type RunningService, startService } from "./harness/service.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, "..")
const PROFILES = path.join(here, "results", "profiles")
/** Issue 16's fan-out goals, as ratios to the floor measured in the same sitting. */
const P99_RATIO_GOAL = 1.3
const CPU_RATIO_GOAL = 1.5
/** Other processes using more than this share of one core during a run make its numbers suspect. */
const DISTURBED_OTHER_CPU_PCT = 15

const USAGE = `usage: npm run bench:ws -- [options]
  --runs N                 runs per server (default 3); medians are reported
  --server KIND            service (SyncKairos, default), floor (load-tests/floor/server.mjs: the same
                           hops with the least code), or both: alternating, with the ratios service / floor
  --sessions N             sessions (default 1000)
  --sockets-per-session N  sockets per session, alternating over A and B (default 5)
  --rate N                 switches per second sent to A (default 500)
  --duration-s S           measured switching per run (default 20)
  --warmup-s S             switching before the measure, each run (default 2)
  --vus N                  k6 VUs, each holding its share of the sessions (default 100)
  --k6 PATH                the k6 binary (default $K6 or k6 on PATH)
  --profile                run the instances with --cpu-prof; profiles land in load-tests/results/profiles/,
                           and each run prints how to summarise its measured window
  --help`

type ServerKind = "service" | "floor"

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    server: { type: "string", default: "service" },
    sessions: { type: "string", default: "1000" },
    "sockets-per-session": { type: "string", default: "5" },
    rate: { type: "string", default: "500" },
    "duration-s": { type: "string", default: "20" },
    "warmup-s": { type: "string", default: "2" },
    vus: { type: "string", default: "100" },
    k6: { type: "string", default: process.env["K6"] ?? "k6" },
    profile: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  }
})

const serversOf = (kind: string | undefined): ReadonlyArray<ServerKind> => {
  if (kind === "service" || kind === "floor") return [kind]
  if (kind === "both") return ["service", "floor"]
  throw new Error(`--server must be service, floor or both, got "${String(kind)}"`)
}

interface Load {
  readonly sessions: number
  readonly socketsPerSession: number
  readonly rate: number
  readonly durationS: number
  readonly warmupS: number
  readonly vus: number
}

interface RunResult {
  readonly server: ServerKind
  readonly run: number
  readonly windowS: number
  /** STATE_UPDATEs received on every socket in the window, and per second. */
  readonly delivered: number
  readonly deliveredPerSec: number
  /** ws_delivery_ms on B's sockets: ms from sending a switch to A to its STATE_UPDATE on B. */
  readonly delivery: { readonly count: number; readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number }
  /** ws_to_commit_ms / ws_after_commit_ms p99: the same deliveries split at the commit in Redis. */
  readonly toCommitP99: number
  readonly afterCommitP99: number
  /** CPU µs per delivered event; instances: A + B, total: A + B + Redis. */
  readonly cpuUsPerEvent: { readonly a: number; readonly b: number; readonly redis: number; readonly instances: number; readonly total: number }
  /** Shares of one core over the window; other: the rest of the machine (other processes, the kernel). */
  readonly cpuPct: { readonly a: number; readonly b: number; readonly redis: number; readonly k6: number; readonly other: number | null; readonly steal: number | null }
  readonly peakRssMb: { readonly a: number | null; readonly b: number | null }
  readonly missed: number
  readonly duplicates: number
  readonly behind: number
  readonly connectErrors: number
  readonly startTimeouts: number
  readonly switchErrorRate: number
  readonly k6ExitCode: number | null
  readonly crossedThresholds: ReadonlyArray<string>
  readonly instanceWarnings: number
  readonly instanceWarningLines: ReadonlyArray<string>
  readonly k6Summary: unknown
}

/** Steps that undo the running run (servers, a database) if the bench is interrupted. */
const undoOnInterrupt = new Set<() => Promise<unknown>>()

const waitForPostgres = async (origin: string, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ready: { checks?: { postgres?: string } } = await fetch(`${origin}/ready`).then((r) => r.json(), () => ({}))
    if (ready.checks?.postgres === "ok") return
    await sleep(200)
  }
  throw new Error(`${origin} did not connect to PostgreSQL within ${timeoutMs / 1000} s`)
}

const count = (k6: K6Summary, name: string) => stat(k6.metrics[name], "count") || 0

/** The measured part of a k6 run, epoch ms. */
const windowOf = (k6: K6Summary) => {
  const from = stat(k6.metrics["ws_window_start"], "min")
  const to = stat(k6.metrics["ws_window_end"], "max")
  if (!(to > from)) throw new Error(`k6 reported no measured window (ws_window_start ${from}, ws_window_end ${to}):\n${k6.outputTail.join("\n")}`)
  return { from, to }
}

/** The results of one k6 run and the CPU of each process over the window k6 reports. */
const resultOf = (server: ServerKind, run: number, k6: K6Summary, timeline: CpuTimeline, services: ReadonlyArray<RunningService>): RunResult => {
  const { from, to } = windowOf(k6)
  const windowS = (to - from) / 1000
  const cpu = timeline.between(from, to)
  // Tracking order: A, B, Redis, this bench, k6.
  const [a, b, redis, bench, k6Cpu] = cpu.seconds
  if (a == null || b == null || redis == null || bench == null || k6Cpu == null) {
    throw new Error("a measured process ended during the run, or was not sampled")
  }
  const delivered = count(k6, "ws_delivered_events")
  const perEvent = (seconds: number) => Math.round((seconds * 1e7) / delivered) / 10
  const pct = (seconds: number) => Math.round((seconds / windowS) * 1000) / 10
  const delivery = k6.metrics["ws_delivery_ms"]
  const ms = (metric: string, name: string) => Math.round(stat(k6.metrics[metric], name) * 100) / 100
  return {
    server,
    run,
    windowS: Math.round(windowS * 100) / 100,
    delivered,
    deliveredPerSec: Math.round((delivered / windowS) * 10) / 10,
    delivery: {
      count: stat(delivery, "count") || 0,
      p50: ms("ws_delivery_ms", "med"),
      p95: ms("ws_delivery_ms", "p(95)"),
      p99: ms("ws_delivery_ms", "p(99)"),
      max: ms("ws_delivery_ms", "max")
    },
    toCommitP99: ms("ws_to_commit_ms", "p(99)"),
    afterCommitP99: ms("ws_after_commit_ms", "p(99)"),
    cpuUsPerEvent: { a: perEvent(a), b: perEvent(b), redis: perEvent(redis), instances: perEvent(a + b), total: perEvent(a + b + redis) },
    cpuPct: {
      a: pct(a),
      b: pct(b),
      redis: pct(redis),
      k6: pct(k6Cpu),
      other: cpu.machineBusySeconds === null ? null : Math.max(0, pct(cpu.machineBusySeconds - a - b - redis - k6Cpu - bench)),
      steal: cpu.stealPct
    },
    peakRssMb: { a: cpu.peakRssMb[0] ?? null, b: cpu.peakRssMb[1] ?? null },
    missed: count(k6, "ws_missed_events"),
    duplicates: count(k6, "ws_duplicate_events"),
    behind: count(k6, "ws_behind_sockets"),
    connectErrors: count(k6, "ws_connect_errors"),
    startTimeouts: count(k6, "ws_start_timeouts"),
    switchErrorRate: stat(k6.metrics["switch_errors"], "value") || 0,
    k6ExitCode: k6.exitCode,
    crossedThresholds: k6.crossedThresholds,
    instanceWarnings: services.reduce((n, s) => n + s.warnings(), 0),
    instanceWarningLines: services.flatMap((s) => s.warningLines()),
    k6Summary: k6.summary
  }
}

/** One run: a fresh Redis (and database), A and B, k6, the readings; everything stopped afterwards. */
const measure = async (server: ServerKind, run: number, load: Load, postgres: OwnPostgres | null): Promise<RunResult> => {
  const redis = await startOwnRedis({ persistence: "everysec" })
  const database = `synckairos_ws_${randomBytes(4).toString("hex")}`
  const services: Array<RunningService> = []
  const stopAll = async () => {
    for (const s of services.splice(0).reverse()) await s.stop()
    await redis.stop()
    if (server === "service") await postgres?.dropDatabase(database).catch((error: unknown) => console.error(`could not drop ${database}: ${String(error)}`))
  }
  undoOnInterrupt.add(stopAll)
  try {
    const env = {
      REDIS_URL: redis.url,
      LOG_LEVEL: "warn",
      ...(server === "service" && postgres !== null ? { DATABASE_URL: postgres.databaseUrl(database) } : {})
    }
    const nodeArgs = values.profile ? ["--cpu-prof", "--cpu-prof-dir", PROFILES] : []
    const entryPoint = server === "floor" ? "load-tests/floor/server.mjs" : undefined
    /** When each instance was started: its profile's clock starts there, give or take its boot. */
    const startedAtMs: Array<number> = []
    const start = () => {
      startedAtMs.push(Date.now())
      return startService({ cwd: repoRoot, env, nodeArgs, entryPoint, role: "api" })
    }
    const a = await start()
    services.push(a)
    const b = await start()
    services.push(b)
    if (server === "service") for (const s of services) await waitForPostgres(s.origin, 60_000)

    const timeline = new CpuTimeline()
    for (const pid of [a.pid, b.pid, redis.pid(), process.pid]) timeline.track(pid)
    timeline.start()
    let k6: K6Summary
    try {
      k6 = await runK6Script({
        binary: values.k6,
        script: path.join(here, "ws-fanout.js"),
        cwd: repoRoot,
        env: {
          BASE_URLS: `${a.origin},${b.origin}`,
          SESSIONS: String(load.sessions),
          SOCKETS_PER_SESSION: String(load.socketsPerSession),
          RATE: String(load.rate),
          WARMUP: `${load.warmupS}s`,
          DURATION: `${load.durationS}s`,
          VUS: String(load.vus),
          KEEP_SESSIONS: "1" // this Redis is thrown away after the run
        },
        onStart: (pid) => timeline.track(pid)
      })
    } finally {
      timeline.stop()
    }
    if (k6.exitCode !== 0 && k6.exitCode !== 99) throw new Error(`k6 exited with ${k6.exitCode}:\n${k6.outputTail.join("\n")}`)
    for (const s of services) {
      if (s.exited()) throw new Error(`instance pid ${s.pid} exited during the run:\n${s.logTail().join("\n")}`)
    }
    const result = resultOf(server, run, k6, timeline, services)
    if (values.profile) {
      const { from, to } = windowOf(k6)
      services.forEach((s, i) => {
        const seconds = (ms: number) => ((ms - startedAtMs[i]!) / 1000).toFixed(1)
        console.log(`${server} run ${run}, ${"AB"[i]}'s measured window: npx tsx load-tests/tools/profile-summary.ts ` +
          `${path.relative(process.cwd(), PROFILES)}/CPU.*.${s.pid}.*.cpuprofile --from ${seconds(from)} --to ${seconds(to)}`)
      })
    }
    return result
  } catch (error) {
    for (const s of services) console.error(`--- log tail of ${server} pid ${s.pid} ---\n${s.logTail().join("\n")}`)
    throw error
  } finally {
    undoOnInterrupt.delete(stopAll)
    await stopAll()
  }
}

// ---- the report

/** Title, statistic and decimals of each column. */
const COLUMNS: ReadonlyArray<Column<RunResult>> = [
  ["window s", (r) => r.windowS, 1],
  ["delivered", (r) => r.delivered, 0],
  ["ev/s", (r) => r.deliveredPerSec, 0],
  ["p50 ms", (r) => r.delivery.p50, 2],
  ["p95 ms", (r) => r.delivery.p95, 2],
  ["p99 ms", (r) => r.delivery.p99, 2],
  ["max ms", (r) => r.delivery.max, 1],
  ["→commit p99", (r) => r.toCommitP99, 1],
  ["commit→ p99", (r) => r.afterCommitP99, 1],
  ["A µs/ev", (r) => r.cpuUsPerEvent.a, 1],
  ["B µs/ev", (r) => r.cpuUsPerEvent.b, 1],
  ["redis µs/ev", (r) => r.cpuUsPerEvent.redis, 1],
  ["A+B µs/ev", (r) => r.cpuUsPerEvent.instances, 1],
  ["total µs/ev", (r) => r.cpuUsPerEvent.total, 1],
  ["A cpu%", (r) => r.cpuPct.a, 1],
  ["B cpu%", (r) => r.cpuPct.b, 1],
  ["redis cpu%", (r) => r.cpuPct.redis, 1],
  ["k6 cpu%", (r) => r.cpuPct.k6, 1],
  ["other cpu%", (r) => r.cpuPct.other, 1],
  ["steal%", (r) => r.cpuPct.steal, 1],
  ["A RSS MB", (r) => r.peakRssMb.a, 0],
  ["B RSS MB", (r) => r.peakRssMb.b, 0],
  ["missed", (r) => r.missed, 0],
  ["dup", (r) => r.duplicates, 0],
  ["behind", (r) => r.behind, 0],
  ["sw err%", (r) => r.switchErrorRate * 100, 2]
]

const medianOf = (results: ReadonlyArray<RunResult>, pick: (r: RunResult) => number | null): number | null => medianOfPresent(results.map(pick))

/** A measure of the service over the floor's, with its goal where it has one: "3.1× (goal ≤ 1.3×: missed)". */
const ratioLine = (name: string, service: number | null, floor: number | null, goal: number | null) => {
  if (service === null || floor === null || floor === 0) return { name, ratio: null, line: `${name}: -` }
  const ratio = Math.round((service / floor) * 100) / 100
  const verdict = goal === null ? "" : ` (goal ≤ ${goal}×: ${ratio <= goal ? "met" : "missed"})`
  return { name, ratio, line: `${name}: ${service} / ${floor} = ${ratio}×${verdict}` }
}

const PARTS = [
  ["total", "A + B + Redis", CPU_RATIO_GOAL],
  ["instances", "A + B", CPU_RATIO_GOAL],
  ["a", "A", null],
  ["b", "B", null],
  ["redis", "Redis", null]
] as const

const main = async (): Promise<number> => {
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  const servers = serversOf(values.server)
  const runs = positiveOption("runs", values.runs, { integer: true })
  const load: Load = {
    sessions: positiveOption("sessions", values.sessions, { integer: true }),
    socketsPerSession: positiveOption("sockets-per-session", values["sockets-per-session"], { integer: true }),
    rate: positiveOption("rate", values.rate, { integer: false }),
    durationS: positiveOption("duration-s", values["duration-s"], { integer: false }),
    warmupS: positiveOption("warmup-s", values["warmup-s"], { integer: false, allowZero: true }),
    vus: positiveOption("vus", values.vus, { integer: true })
  }
  const startedAt = new Date()
  const machine = machineFacts()
  const k6Release = k6Version(values.k6)
  const redisVersion = execFileSync("redis-server", ["--version"]).toString().match(/v=(\S+)/)?.[1] ?? "unknown"
  console.log(`SyncKairos WebSocket fan-out bench — ${startedAt.toISOString()}`)
  console.log(describeMachine(machine, redisVersion))
  console.log(`load: ${k6Release}, load-tests/ws-fanout.js; ${load.sessions} sessions × ${load.socketsPerSession} sockets over A and B, ` +
    `${load.rate} switches/s to A for ${load.warmupS} s (warm-up) + ${load.durationS} s, ${load.vus} VUs; servers: ${servers.join(" and ")}, ${runs} run(s) each`)

  const postgres = servers.includes("service") ? await startOwnPostgres({ durable: true }) : null
  const onSignal = () => {
    console.error("interrupted: stopping the servers")
    void Promise.allSettled([...[...undoOnInterrupt].map((undo) => undo()), postgres?.close()]).finally(() => process.exit(130))
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  const results: Array<RunResult> = []
  const unstarted: Array<string> = []
  try {
    for (let run = 1; run <= runs; run++) {
      for (const server of servers) {
        // A run k6 could not start (its sockets never all synced) is reported; the sitting goes on.
        const r = await measure(server, run, load, postgres).catch((error: unknown) => {
          const reason = String(error).split("\n", 1)[0]
          unstarted.push(`${server} run ${run}: did not start (${reason})`)
          console.log(`${server} run ${run}: did not start: ${reason}`)
          return undefined
        })
        if (r === undefined) continue
        results.push(r)
        console.log(`${server} run ${run}: ${r.delivered} events delivered in ${r.windowS} s (${r.deliveredPerSec}/s); on B p50 ${r.delivery.p50} ` +
          `p99 ${r.delivery.p99} max ${r.delivery.max} ms; CPU µs/event A ${r.cpuUsPerEvent.a} B ${r.cpuUsPerEvent.b} redis ${r.cpuUsPerEvent.redis} ` +
          `= ${r.cpuUsPerEvent.total}; missed ${r.missed}, dup ${r.duplicates}, behind ${r.behind}` +
          (r.crossedThresholds.length === 0 ? "; thresholds passed" : `; thresholds crossed: ${r.crossedThresholds.join(", ")}`))
      }
    }
  } finally {
    await postgres?.close()
  }

  const { text, medians } = runsTable("server", servers.map((server) => [server, results.filter((r) => r.server === server)] as const), COLUMNS)
  console.log(`\n${text}\n`)
  console.log("window: k6's measured part, from the end of the warm-up until every socket had the last version. delivered, ev/s: STATE_UPDATEs\n" +
    "received on all sockets in it. p50…max: ws_delivery_ms, from sending a switch to A to its STATE_UPDATE on a socket of B (k6, whole ms);\n" +
    "→commit / commit→: the same split at the commit (the Redis time in the event id). µs/ev: CPU per delivered event (/proc); cpu%: share\n" +
    "of one core; other: the rest of the machine; steal: the hypervisor's share. RSS: peak in the window. behind: sockets short of the last\n" +
    "version 2 s after the last switch.")

  const ratios = servers.length === 2
    ? [
      ratioLine("delivery p99, service / floor", medianOf(results.filter((r) => r.server === "service"), (r) => r.delivery.p99),
        medianOf(results.filter((r) => r.server === "floor"), (r) => r.delivery.p99), P99_RATIO_GOAL),
      ...PARTS.map(([part, title, goal]) =>
        ratioLine(`CPU per delivered event (${title}), service / floor`,
          medianOf(results.filter((r) => r.server === "service"), (r) => r.cpuUsPerEvent[part]),
          medianOf(results.filter((r) => r.server === "floor"), (r) => r.cpuUsPerEvent[part]), goal))
    ]
    : []
  if (ratios.length > 0) console.log(`\nmedians, in one sitting:\n${ratios.map((r) => `  ${r.line}`).join("\n")}`)

  const problems = [...unstarted, ...results.flatMap((r) => {
    const where = `${r.server} run ${r.run}`
    return [
      ...(r.missed + r.duplicates + r.behind > 0 ? [`${where}: ${r.missed} events missed, ${r.duplicates} repeated, ${r.behind} sockets behind`] : []),
      ...(r.connectErrors + r.startTimeouts > 0 ? [`${where}: ${r.connectErrors} sockets failed to connect, ${r.startTimeouts} VUs never started`] : []),
      ...(r.switchErrorRate > 0 ? [`${where}: ${(r.switchErrorRate * 100).toFixed(2)} % of switches failed`] : [])
    ]
  })]
  for (const p of problems) console.log(`! ${p}`)
  const disturbed = results.filter((r) => (r.cpuPct.other ?? 0) > DISTURBED_OTHER_CPU_PCT).map((r) => `${r.server} run ${r.run} (${r.cpuPct.other} %)`)
  if (disturbed.length > 0) {
    console.log(`WARNING: other processes used more than ${DISTURBED_OTHER_CPU_PCT} % of a core during ${disturbed.join(", ")}: those numbers are disturbed`)
  }
  for (const r of results.filter((r) => r.instanceWarnings > 0)) {
    console.log(`${r.server} run ${r.run}: the instances printed ${r.instanceWarnings} warning line(s), first: ${r.instanceWarningLines[0] ?? ""}`)
  }

  const file = await writeReport(path.join(here, "results", "ws"), startedAt, {
    tool: "synckairos load-tests/bench-ws.ts",
    date: startedAt.toISOString(),
    machine,
    redisVersion,
    k6Version: k6Release,
    options: { runs, servers, ...load },
    medians,
    ratios: Object.fromEntries(ratios.map((r) => [r.name, r.ratio])),
    problems,
    runs: results
  })
  console.log(`results: ${path.relative(process.cwd(), file)}`)
  return problems.length === 0 ? 0 : 1
}

await exitWith(main)
