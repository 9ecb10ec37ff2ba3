/**
 * SyncKairos WebSocket fan-out bench: `npm run bench:ws [-- --runs N --duration-scale X]`.
 *
 * Spawns two instances, A and B, on one Redis (own key prefix, deleted at the end), creates and
 * starts 1,000 sessions, opens 5 sockets per session alternating over A and B (5,000 sockets), then
 * sends switches at 500/s to A (open loop) and measures, on B's sockets, the time from sending a
 * switch to receiving its STATE_UPDATE. Every socket checks it sees each version once, in order.
 * It reports the RSS of each instance, then adds sockets to B until it holds 10,000 and measures
 * again. Mirror of load-tests/ws-fanout.js (see scenarios/wsFanout.ts). Exits non-zero if any event
 * was missed or repeated, or any switch failed.
 */
import { readFile } from "node:fs/promises"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { parseArgs } from "node:util"
import { setTimeout as sleep } from "node:timers/promises"
import { BenchRun } from "./harness/benchRun.ts"
import { makePool } from "./harness/pool.ts"
import { median, writeReport } from "./harness/report.ts"
import { cpuBetween, processCpuSeconds, readCpu } from "./harness/resources.ts"
import { checkVersions, createSessions } from "./scenarios/sessions.ts"
import {
  addSubscribers,
  closeSubscribers,
  connectSubscribers,
  Deliveries,
  type FanoutRunStats,
  runFanout,
  SOCKETS_PER_SESSION,
  type Subscriber,
  WS_DURATION_S,
  WS_RATE_PER_SEC,
  WS_SESSIONS,
  WS_SWITCH_CONNECTIONS
} from "./scenarios/wsFanout.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const P99_TARGET_MS = 10
const RSS_TARGET_MB = 300
/** Other processes using more than this share of one core during a run make its numbers suspect. */
const DISTURBED_OTHER_CPU_PCT = 15

const USAGE = `usage: npm run bench:ws -- [options]
  --runs N              measured runs (default 3); medians are reported
  --duration-scale X    scale every run's duration, e.g. 0.1 for a quick smoke (default 1)
  --sessions N          sessions (default ${WS_SESSIONS}), each with ${SOCKETS_PER_SESSION} sockets alternating over A and B
  --rate N              switches per second sent to A (default ${WS_RATE_PER_SEC})
  --big N               sockets on B for the last run (default 10000; 0 skips it)
  --redis-url URL       Redis of both instances (default $REDIS_URL or redis://127.0.0.1:6379)
  --server floor        run A and B as load-tests/floor/server.mjs instead of SyncKairos: the same hops
                        with the least code, i.e. what this machine allows (default: service)
  --profile             run the instances with --cpu-prof; profiles land in load-tests/results/profiles/
  --help`

const number = (text: string | undefined, fallback: number) => {
  const value = text === undefined ? fallback : Number(text)
  if (!Number.isFinite(value) || value < 0) throw new Error(`expected a non-negative number, got "${text}"`)
  return value
}

const serverOf = (name: string | undefined) => {
  if (name !== "service" && name !== "floor") throw new Error(`--server must be service or floor, got "${name}"`)
  return name
}

const parseOptions = () => {
  const { values } = parseArgs({
    options: {
      runs: { type: "string" },
      "duration-scale": { type: "string" },
      sessions: { type: "string" },
      rate: { type: "string" },
      big: { type: "string" },
      "redis-url": { type: "string" },
      server: { type: "string", default: "service" },
      profile: { type: "boolean", default: false },
      help: { type: "boolean", default: false }
    }
  })
  return {
    help: values.help ?? false,
    runs: Math.max(1, Math.round(number(values.runs, 3))),
    scale: number(values["duration-scale"], 1),
    sessions: Math.max(1, Math.round(number(values.sessions, WS_SESSIONS))),
    rate: number(values.rate, WS_RATE_PER_SEC),
    big: Math.round(number(values.big, 10_000)),
    redisUrl: values["redis-url"] ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379",
    server: serverOf(values.server),
    profile: values.profile ?? false
  }
}

const rssMb = async (pid: number): Promise<number> => {
  const status = await readFile(`/proc/${pid}/status`, "utf8")
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 102.4) / 10
}

/** Peak RSS of each instance, sampled while `work` runs. */
const withPeakRss = async <A>(pids: ReadonlyArray<number>, work: Promise<A>) => {
  const peaks = pids.map(() => 0)
  const sample = async () => (await Promise.all(pids.map(rssMb))).forEach((mb, i) => (peaks[i] = Math.max(peaks[i]!, mb)))
  // An instance that dies mid-run has no /proc entry left: the run's checks report it, the sampler just skips it.
  const timer = setInterval(() => void sample().catch(() => undefined), 250)
  try {
    const result = await work
    await sample()
    return { result, peaks }
  } finally {
    clearInterval(timer)
  }
}

interface Scrape {
  /** Largest event-loop delay (ms) since the previous scrape: prom-client resets it at each one. Null from the floor server. */
  readonly loopLagMaxMs: number | null
  /** Cumulative counts of the instance's commit-to-send histogram, by upper bound in ms. */
  readonly sendLag: ReadonlyArray<readonly [number, number]>
  /** Garbage collections since the instance started, all kinds: how many, and their pauses summed. Null from the floor server. */
  readonly gc: GcTotals | null
}

interface GcTotals {
  readonly count: number
  readonly pauseMs: number
}

const gcTotals = (metrics: string): GcTotals | null => {
  const values = (part: "sum" | "count") =>
    [...metrics.matchAll(new RegExp(`^nodejs_gc_duration_seconds_${part}\\{kind="[^"]+"\\} (\\S+)$`, "gm"))].map(([, v]) => Number(v))
  const seconds = values("sum")
  return seconds.length === 0 ? null : { count: values("count").reduce((a, b) => a + b, 0), pauseMs: seconds.reduce((a, b) => a + b, 0) * 1000 }
}

const gcBetween = (before: Scrape, after: Scrape): GcTotals | null =>
  before.gc === null || after.gc === null
    ? null
    : { count: after.gc.count - before.gc.count, pauseMs: Math.round((after.gc.pauseMs - before.gc.pauseMs) * 10) / 10 }

const loopLagMaxMs = (metrics: string): number | null => {
  const seconds = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(metrics)?.[1]
  return seconds === undefined ? null : Math.round(Number(seconds) * 1e4) / 10
}

const scrape = async (origin: string): Promise<Scrape> => {
  const text = await (await fetch(`${origin}/metrics`)).text()
  const buckets = [...text.matchAll(/^synckairos_ws_delivery_lag_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)]
  return {
    loopLagMaxMs: loopLagMaxMs(text),
    gc: gcTotals(text),
    sendLag: buckets.map(([, le, count]) => [le === "+Inf" ? Infinity : Number(le) * 1000, Number(count)] as const)
  }
}

/** The bucket bound under which 99 % of the sends between two scrapes fell: the server's own share of the delay. */
const sendLagP99Ms = (before: Scrape, after: Scrape): number | null => {
  const counts = after.sendLag.map(([le, count], i) => [le, count - (before.sendLag[i]?.[1] ?? 0)] as const)
  const total = counts.at(-1)?.[1] ?? 0
  return total === 0 ? null : counts.find(([, count]) => count >= total * 0.99)?.[0] ?? null
}

interface RunRow {
  readonly run: string
  readonly socketsOnB: number
  readonly stats: FanoutRunStats
  readonly cpuPct: { readonly a: number | null; readonly b: number | null; readonly redis: number | null; readonly generator: number; readonly other: number | null; readonly steal: number | null }
  readonly rssMb: { readonly a: number; readonly b: number }
  /** Largest event-loop delay of each process during the run: a stall there shows in every latency. */
  readonly loopLagMaxMs: { readonly a: number | null; readonly b: number | null; readonly generator: number }
  /** p99 (as a histogram bucket bound) of B's commit-to-send lag, from its /metrics. */
  readonly bSendP99Ms: number | null
  /** Collections in A and B during the run, and how long they paused the event loop in all. */
  readonly gc: { readonly a: GcTotals | null; readonly b: GcTotals | null }
}

const COLUMNS: ReadonlyArray<[string, (r: RunRow) => number | null]> = [
  ["B sockets", (r) => r.socketsOnB],
  ["deliveries", (r) => r.stats.delivery.count],
  ["missed", (r) => r.stats.missed],
  ["dup", (r) => r.stats.duplicates],
  ["behind", (r) => r.stats.behind],
  ["p50 ms", (r) => r.stats.delivery.p50],
  ["p95 ms", (r) => r.stats.delivery.p95],
  ["p99 ms", (r) => r.stats.delivery.p99],
  ["max ms", (r) => r.stats.delivery.max],
  ["→commit p99", (r) => r.stats.toCommit.p99],
  ["commit→ p99", (r) => r.stats.afterCommit.p99],
  ["switch p99", (r) => r.stats.switches.latency.p99],
  ["B send p99≤", (r) => r.bSendP99Ms],
  ["sw err", (r) => r.stats.switches.errors],
  ["late>1ms", (r) => r.stats.switches.lateStarts],
  ["A cpu%", (r) => r.cpuPct.a],
  ["B cpu%", (r) => r.cpuPct.b],
  ["redis cpu%", (r) => r.cpuPct.redis],
  ["gen cpu%", (r) => r.cpuPct.generator],
  ["other cpu%", (r) => r.cpuPct.other],
  ["steal%", (r) => r.cpuPct.steal],
  ["A RSS MB", (r) => r.rssMb.a],
  ["B RSS MB", (r) => r.rssMb.b],
  ["A lag max", (r) => r.loopLagMaxMs.a],
  ["B lag max", (r) => r.loopLagMaxMs.b],
  ["gen lag max", (r) => r.loopLagMaxMs.generator],
  ["A gcs", (r) => r.gc.a?.count ?? null],
  ["A gc ms", (r) => r.gc.a?.pauseMs ?? null],
  ["B gcs", (r) => r.gc.b?.count ?? null],
  ["B gc ms", (r) => r.gc.b?.pauseMs ?? null]
]

const formatRows = (rows: ReadonlyArray<{ run: string; cells: ReadonlyArray<number | null> }>) => {
  const text = rows.map((r) => [r.run, ...r.cells.map((c) => (c === null ? "-" : Number.isInteger(c) ? String(c) : c.toFixed(2)))])
  const header = ["run", ...COLUMNS.map(([title]) => title)]
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((t) => t[i]!.length)))
  return [header, ...text].map((cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n")
}

const main = async (): Promise<number> => {
  const options = parseOptions()
  if (options.help) {
    console.log(USAGE)
    return 0
  }
  const bench = await BenchRun.open("WebSocket fan-out bench", options.redisUrl)
  const { startedAt, machine, redis } = bench
  let subscribers: Array<Subscriber> = []
  bench.atCleanup("before instances stop", () => closeSubscribers(subscribers))

  try {
    const env = { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: bench.prefix, LOG_LEVEL: "warn" }
    const nodeArgs = options.profile ? ["--cpu-prof", "--cpu-prof-dir", path.join(here, "results", "profiles")] : []
    const entryPoint = options.server === "floor" ? "load-tests/floor/server.mjs" : undefined
    const a = await bench.start({ cwd: path.resolve(here, ".."), env, nodeArgs, entryPoint })
    const b = await bench.start({ cwd: path.resolve(here, ".."), env, nodeArgs, entryPoint })
    console.log(`instances: A pid ${a.pid} at ${a.origin}, B pid ${b.pid} at ${b.origin}`)

    const pool = makePool(a.origin, WS_SWITCH_CONNECTIONS)
    const fixture = await createSessions(pool, options.sessions)
    const deliveries = new Deliveries(options.sessions)
    let t0 = performance.now()
    subscribers = await connectSubscribers([a.origin, b.origin], fixture, deliveries)
    const onB = () => subscribers.filter((s) => s.measured).length
    console.log(`setup: ${options.sessions} sessions, ${subscribers.length} sockets (B: ${onB()}) in ${Math.round(performance.now() - t0)} ms; ` +
      `RSS A ${await rssMb(a.pid)} MB, B ${await rssMb(b.pid)} MB`)

    const durationMs = Math.max(100, Math.round(WS_DURATION_S * 1000 * options.scale))
    const fanout = (ms: number) => runFanout({ dispatcher: pool, fixture, subscribers, deliveries, ratePerSec: options.rate, durationMs: ms })
    const warm = await fanout(2000)
    console.log(`warm-up: ${warm.switches.count} switches, delivery p99 ${warm.delivery.p99} ms`)

    const measure = async (run: string, ms: number): Promise<RunRow> => {
      await sleep(500)
      const [aBeforeScrape, bBeforeScrape] = await Promise.all([a.origin, b.origin].map(scrape))
      const generatorLag = monitorEventLoopDelay({ resolution: 1 })
      generatorLag.enable()
      const before = await readCpu(a.pid, () => redis.cpuSeconds())
      const bBefore = await processCpuSeconds(b.pid)
      const { result: stats, peaks } = await withPeakRss([a.pid, b.pid], fanout(ms))
      const after = await readCpu(a.pid, () => redis.cpuSeconds())
      const bAfter = await processCpuSeconds(b.pid)
      generatorLag.disable()
      const [aScrape, bScrape] = await Promise.all([a.origin, b.origin].map(scrape))
      const cpu = cpuBetween(before, after, stats.delivery.count)
      const bPct = bBefore === null || bAfter === null ? null : Math.round(((bAfter - bBefore) / cpu.wallSeconds) * 1000) / 10
      const row: RunRow = {
        run,
        socketsOnB: onB(),
        stats,
        cpuPct: {
          a: cpu.service?.percentOfCore ?? null,
          b: bPct,
          redis: cpu.redis?.percentOfCore ?? null,
          generator: cpu.generator.percentOfCore,
          other: cpu.otherCpuPct === null || bPct === null ? null : Math.max(0, Math.round((cpu.otherCpuPct - bPct) * 10) / 10),
          steal: cpu.machineStealPct
        },
        rssMb: { a: peaks[0]!, b: peaks[1]! },
        loopLagMaxMs: { a: aScrape!.loopLagMaxMs, b: bScrape!.loopLagMaxMs, generator: Math.round(generatorLag.max / 1e5) / 10 },
        bSendP99Ms: sendLagP99Ms(bBeforeScrape!, bScrape!),
        gc: { a: gcBetween(aBeforeScrape!, aScrape!), b: gcBetween(bBeforeScrape!, bScrape!) }
      }
      console.log(`run ${run}: ${stats.delivery.count} deliveries on B, p50 ${stats.delivery.p50} p99 ${stats.delivery.p99} max ${stats.delivery.max} ms, ` +
        `missed ${stats.missed}, dup ${stats.duplicates}, behind ${stats.behind}, switch errors ${stats.switches.errors}`)
      return row
    }

    const rows: Array<RunRow> = []
    for (let run = 1; run <= options.runs; run++) rows.push(await measure(String(run), durationMs))

    let big: RunRow | undefined
    if (options.big > onB()) {
      t0 = performance.now()
      subscribers.push(...await addSubscribers(b.origin, fixture, deliveries, options.big - onB()))
      console.log(`B now holds ${onB()} sockets (added in ${Math.round(performance.now() - t0)} ms); RSS B ${await rssMb(b.pid)} MB idle`)
      big = await measure("big", durationMs)
    }

    const versionCheck = await checkVersions(pool, fixture)
    await pool.close()
    const warnings = [a, b].map((s) => s.warnings())
    const { keysRemoved } = await bench.cleanup()

    const medianOf = (get: (r: RunRow) => number | null) => {
      const values = rows.map(get)
      return values.some((v) => v === null) ? null : median(values as Array<number>)
    }
    const lines = [
      ...rows.map((r) => ({ run: r.run, cells: COLUMNS.map(([, get]) => get(r)) })),
      ...(rows.length > 1 ? [{ run: "median", cells: COLUMNS.map(([, get]) => medianOf(get)) }] : []),
      ...(big === undefined ? [] : [{ run: "big", cells: COLUMNS.map(([, get]) => get(big)) }])
    ]
    console.log(`\n${formatRows(lines)}\n`)
    console.log("delivery: ms from sending a switch to A to receiving its STATE_UPDATE on a socket of B (HDR histogram).\n" +
      "→commit / commit→: the same deliveries split at the event's commit in Redis (the ms in its id): sending to commit, commit to receipt.\n" +
      "behind: sockets short of their session's last version 2 s after the last switch. cpu%: share of one core; steal%: share of the box's CPU time the hypervisor gave to other guests; RSS: peak during the run.\n" +
      "B send p99≤: bucket bound (ms) under which 99 % of B's sends fell, from commit in Redis to send (its /metrics).\n" +
      "lag max: the largest event-loop delay (ms) of A, B and the generator during the run.\n" +
      "gcs / gc ms: garbage collections in A and B during the run, and the time they paused its event loop in all (their /metrics).")

    const all = [...rows, ...(big === undefined ? [] : [big])]
    const correct = all.every((r) => r.stats.missed === 0 && r.stats.duplicates === 0 && r.stats.behind === 0 && r.stats.switches.errors === 0) &&
      versionCheck.mismatches === 0
    const p99 = medianOf((r) => r.stats.delivery.p99) ?? Number.NaN
    console.log(`version check: ${versionCheck.mismatches === 0 ? "ok" : "MISMATCH"}; every event delivered once, in order: ${correct ? "yes" : "NO"}`)
    console.log(`target delivery p99 < ${P99_TARGET_MS} ms (median of runs): ${p99} ms — ${p99 < P99_TARGET_MS ? "met" : "MISSED"}`)
    if (big !== undefined) {
      console.log(`target RSS < ${RSS_TARGET_MB} MB with ${big.socketsOnB} sockets on B: ${big.rssMb.b} MB — ${big.rssMb.b < RSS_TARGET_MB ? "met" : "MISSED"}`)
    }
    const disturbed = all.filter((r) => (r.cpuPct.other ?? 0) > DISTURBED_OTHER_CPU_PCT).map((r) => `${r.run} (${r.cpuPct.other} %)`)
    if (disturbed.length > 0) {
      console.log(`WARNING: other processes used more than ${DISTURBED_OTHER_CPU_PCT} % of a core during run ${disturbed.join(", ")}: those numbers are disturbed`)
    }
    if (warnings.some((w) => w > 0)) console.log(`instances printed ${warnings.join(" / ")} warning line(s)`)
    console.log(`bench keys removed: ${keysRemoved}`)

    const file = await writeReport(path.join(here, "results", "ws"), startedAt, {
      tool: "synckairos load-tests/bench-ws.ts",
      date: startedAt.toISOString(),
      machine,
      options,
      ok: correct,
      runs: rows,
      big,
      medians: Object.fromEntries(COLUMNS.map(([title, get]) => [title, medianOf(get)])),
      versionCheck
    })
    console.log(`results: ${path.relative(process.cwd(), file)}`)
    return correct ? 0 : 1
  } catch (error) {
    return bench.failed(error)
  }
}

process.exit(await main())
