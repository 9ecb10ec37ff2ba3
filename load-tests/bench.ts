/**
 * SyncKairos load bench: `npm run bench [-- --runs N --duration-scale X --scenario NAME]`.
 *
 * Spawns one service instance on a free loopback port (own Redis key prefix, deleted at the end),
 * creates and starts 200 sessions, then runs the scenarios of scenarios/index.ts N times on that
 * instance and reports per-run statistics and their medians (table on stdout, JSON in
 * load-tests/results/). Exits non-zero if any request failed.
 *
 * The `switch-fixed` scenario is the mirror of load-tests/switch.js, the k6 script run against
 * deployed instances: same offered load (1,000 switches/s, open loop, 20 s), same session setup
 * (200 started per_participant sessions of two 24 h participants), same request. Change both together.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { setTimeout as sleep } from "node:timers/promises"
import { BenchRun } from "./harness/benchRun.ts"
import { makePool } from "./harness/pool.ts"
import {
  formatTable,
  medianRow,
  type Row,
  rowOf,
  type RunRecord,
  type TableLine,
  writeReport
} from "./harness/report.ts"
import { cpuBetween, machineBusyOver, readCpu } from "./harness/resources.ts"
import type { OfferedLoad } from "./harness/scenario.ts"
import type { HttpContext } from "./scenarios/context.ts"
import { authOnlyScenarios, httpScenarios } from "./scenarios/index.ts"
import { checkVersions, createSessions, SESSIONS, type VersionCheck } from "./scenarios/sessions.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, "..")
const resultsDir = path.join(here, "results")

const USAGE = `usage: npm run bench -- [options]
  --runs N              repeat the scenarios N times on the same instance (default 3); medians are reported
  --duration-scale X    scale every duration, e.g. 0.1 for a quick smoke (default 1)
  --scenario NAME       run only this scenario (repeatable, or comma-separated): ${httpScenarios.map((s) => s.name).join(", ")}
  --warmup S            seconds of unrecorded load per scenario before the first run, not scaled (default 2; 0 = none)
  --sessions N          sessions created in setup (default ${SESSIONS})
  --redis-url URL       Redis of the spawned service (default $REDIS_URL or redis://127.0.0.1:6379)
  --profile             run the service with --cpu-prof; the profile lands in load-tests/results/profiles/
  --auth                run the service with API_KEYS and TOKEN_SECRET: requests carry an API key, and
                        switch-max-token switches with participant tokens (default scenarios: switch-max, switch-max-token)
  --help`

interface Options {
  readonly runs: number
  readonly scale: number
  readonly scenarios: ReadonlyArray<string>
  readonly warmupS: number
  readonly sessions: number
  readonly redisUrl: string
  readonly profile: boolean
  readonly auth: boolean
}

const positive = (name: string, text: string | undefined, fallback: number, integer: boolean): number => {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value)) || (integer && value === 0)) {
    throw new Error(`--${name} must be a positive ${integer ? "integer" : "number"}, got "${text}"`)
  }
  return value
}

const parseOptions = (argv: ReadonlyArray<string>): Options | "help" => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      runs: { type: "string" },
      "duration-scale": { type: "string" },
      scenario: { type: "string", multiple: true },
      warmup: { type: "string" },
      sessions: { type: "string" },
      "redis-url": { type: "string" },
      profile: { type: "boolean", default: false },
      auth: { type: "boolean", default: false },
      help: { type: "boolean", default: false }
    },
    strict: true
  })
  if (values.help) return "help"
  const known = httpScenarios.map((s) => s.name)
  const scenarios = (values.scenario ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "")
  for (const s of scenarios) {
    if (!known.includes(s)) throw new Error(`unknown scenario "${s}"; known: ${known.join(", ")}`)
  }
  const scale = positive("duration-scale", values["duration-scale"], 1, false)
  if (scale === 0) throw new Error("--duration-scale must be above 0")
  const auth = values.auth ?? false
  for (const s of scenarios) {
    if (!auth && authOnlyScenarios.includes(s)) throw new Error(`scenario "${s}" needs --auth`)
  }
  const defaults = auth ? ["switch-max", ...authOnlyScenarios] : known.filter((s) => !authOnlyScenarios.includes(s))
  return {
    auth,
    runs: positive("runs", values.runs, 3, true),
    scale,
    scenarios: scenarios.length > 0 ? scenarios : defaults,
    warmupS: positive("warmup", values.warmup, 2, false),
    sessions: positive("sessions", values.sessions, SESSIONS, true),
    redisUrl: values["redis-url"] ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379",
    profile: values.profile ?? false
  }
}

const gitRevision = (): string | null => {
  try {
    return execFileSync("git", ["describe", "--always", "--dirty", "--abbrev=12"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "ignore"]
    }).toString().trim()
  } catch {
    return null
  }
}

const fmt = (n: number, digits = 2) => n.toFixed(digits)

/** Other processes using more than this share of one core during a run make its numbers suspect. */
const DISTURBED_OTHER_CPU_PCT = 15

const main = async (): Promise<number> => {
  const parsed = parseOptions(process.argv.slice(2))
  if (parsed === "help") {
    console.log(USAGE)
    return 0
  }
  const options = parsed
  const bench = await BenchRun.open("bench", options.redisUrl)
  const { startedAt, machine, redisFacts, prefix } = bench

  try {
    const selected = httpScenarios.filter((s) => options.scenarios.includes(s.name))
    const offered: Record<string, OfferedLoad> = Object.fromEntries(selected.map((s) => [s.name, s.offered(options.scale)]))

    console.log(`runs: ${options.runs}, duration scale: ${options.scale}, key prefix: ${prefix}`)
    for (const s of selected) console.log(`  ${s.name.padEnd(14)} ${offered[s.name]!.description} — ${s.description}`)

    // Other work on the box skews every number: say so up front (and again per run, "other cpu%").
    const busyBeforePct = await machineBusyOver(1000)
    if (busyBeforePct !== null && busyBeforePct > 10) {
      console.log(`WARNING: the machine was already ${busyBeforePct} % busy (all cores) before the bench started`)
    }

    const profileDir = path.join(resultsDir, "profiles")
    // Fresh secrets per run. The token rate limit is raised so that the closed loop measures the
    // check's cost, not the limit: the limiter does the same Redis round trip at any rate.
    const auth = options.auth ? { apiKey: randomBytes(24).toString("base64url") } : null
    const authEnv: Record<string, string> = auth === null
      ? {}
      : { API_KEYS: auth.apiKey, TOKEN_SECRET: randomBytes(32).toString("base64url"), RATE_LIMIT_TOKEN_RPS: "100000" }
    const service = await bench.start({
      cwd: repoRoot,
      env: { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn", ...authEnv },
      nodeArgs: options.profile ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : []
    })
    console.log(`service: pid ${service.pid} at ${service.origin}`)

    const setupPool = makePool(service.origin, 16)
    const setupStart = performance.now()
    const fixture = await createSessions(setupPool, options.sessions, 16, auth)
    console.log(`setup: ${options.sessions} sessions created and started in ${fmt(performance.now() - setupStart, 0)} ms`)
    const context: HttpContext = { origin: service.origin, fixture }
    const redisCpu = () => bench.redis.cpuSeconds()

    if (options.warmupS > 0) {
      for (const scenario of selected) {
        // JIT-compile the service (and this generator) before anything is measured
        const stats = await scenario.run(context, options.warmupS / scenario.offered(1).durationS)
        console.log(`warm-up ${scenario.name}: ${stats.count} requests, ${stats.errors} errors`)
      }
    }

    const records: Array<RunRecord> = []
    for (let run = 1; run <= options.runs && !bench.interrupted; run++) {
      for (const scenario of selected) {
        if (bench.interrupted) break
        await sleep(500) // let the previous scenario's connections close and the GC settle
        const before = await readCpu(service.pid, redisCpu)
        const stats = await scenario.run(context, options.scale)
        const after = await readCpu(service.pid, redisCpu)
        const record: RunRecord = { scenario: scenario.name, run, stats, cpu: cpuBetween(before, after, stats.count) }
        records.push(record)
        const late = "lateStarts" in stats
          ? `, late>1ms ${stats.lateStarts} (max ${fmt(stats.maxStartDelayMs)} ms), queued ${stats.queuedStarts}, peak in flight ${stats.peakInFlight}`
          : ""
        console.log(
          `run ${run}/${options.runs} ${scenario.name}: ${stats.count} req, ${stats.errors} errors, ${fmt(stats.throughput, 1)} req/s, ` +
            `p50 ${fmt(stats.latency.p50)} p95 ${fmt(stats.latency.p95)} p99 ${fmt(stats.latency.p99)} max ${fmt(stats.latency.max)} ms${late}`
        )
        if (stats.errors > 0) console.log(`  errors by status: ${JSON.stringify(stats.errorsByStatus)}`)
        if (service.exited()) throw new Error(`the service exited during ${scenario.name}:\n${service.logTail().join("\n")}`)
      }
    }

    const versionCheck: VersionCheck = await checkVersions(setupPool, fixture)
    await setupPool.close()
    const serviceWarnings = service.warnings()
    const serviceWarningLines = service.warningLines()
    const serviceLogTail = service.logTail()
    const { exitCodes, keysRemoved } = await bench.cleanup()
    const serviceExitCode = exitCodes[0] ?? null

    const lines: Array<TableLine> = []
    const medians: Record<string, Row> = {}
    for (const scenario of selected) {
      const rows = records.filter((r) => r.scenario === scenario.name).map((r) => ({ run: r.run, row: rowOf(r) }))
      if (rows.length === 0) continue
      for (const r of rows) lines.push({ scenario: scenario.name, run: String(r.run), row: r.row })
      if (rows.length > 1) {
        const m = medianRow(rows.map((r) => r.row))
        medians[scenario.name] = m
        lines.push({ scenario: scenario.name, run: "median", row: m })
      } else medians[scenario.name] = rows[0]!.row
    }
    const totalErrors = records.reduce((n, r) => n + r.stats.errors, 0)
    const errorsByStatus: Record<string, number> = {}
    for (const r of records) {
      for (const [k, v] of Object.entries(r.stats.errorsByStatus)) errorsByStatus[k] = (errorsByStatus[k] ?? 0) + v
    }

    console.log("")
    console.log(formatTable(lines))
    console.log("")
    console.log(
      "latency: ms to the last byte; switch-fixed from the scheduled instant (open loop), the others from the send (closed loop).\n" +
        "cpu%: share of one core during the scenario (the box has " + `${machine.cpuCount}` + "); other cpu%: everything else on the box; µs/req: CPU per request."
    )
    if (totalErrors > 0) {
      console.log(`\nFAILED REQUESTS: ${totalErrors} ${JSON.stringify(errorsByStatus)}`)
      for (const r of records) {
        for (const s of r.stats.errorSamples.slice(0, 3)) {
          console.log(`  ${r.scenario} run ${r.run}: ${s.status} ${s.path} ${s.detail}`)
        }
      }
    }
    console.log(
      `version check: ${versionCheck.mismatches === 0 ? "ok" : "MISMATCH"} — ${versionCheck.sessions - versionCheck.mismatches}/${versionCheck.sessions} ` +
        "sessions at version 2 + their successful switches"
    )
    for (const e of versionCheck.examples) console.log(`  ${e.sessionId}: expected ${e.expected}, got ${String(e.actual)}`)
    const disturbed = records.filter((r) => (r.cpu.otherCpuPct ?? 0) > DISTURBED_OTHER_CPU_PCT)
    if (disturbed.length > 0) {
      console.log(
        `WARNING: other processes used more than ${DISTURBED_OTHER_CPU_PCT} % of a core during ` +
          `${disturbed.map((r) => `${r.scenario} run ${r.run} (${r.cpu.otherCpuPct} %)`).join(", ")}: those numbers are disturbed`
      )
    }
    if (serviceWarnings > 0) {
      console.log(`service printed ${serviceWarnings} warning/error line(s), first: ${serviceWarningLines[0] ?? ""}`)
    }
    console.log(`service exit code: ${String(serviceExitCode)}; bench keys removed: ${String(keysRemoved)}`)

    const ok = totalErrors === 0 && versionCheck.mismatches === 0 && !bench.interrupted
    const report = {
      tool: "synckairos load-tests/bench.ts",
      date: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      ok,
      interrupted: bench.interrupted,
      machine: { ...machine, redis: redisFacts, busyBeforeStartPct: busyBeforePct },
      revision: gitRevision(),
      options: { ...options, scenarios: selected.map((s) => s.name) },
      service: {
        origin: service.origin,
        keyPrefix: prefix,
        logLevel: "warn",
        warningCount: serviceWarnings,
        warningLines: serviceWarningLines,
        logTail: serviceLogTail,
        exitCode: serviceExitCode,
        keysRemoved
      },
      setup: { sessions: options.sessions, participantsPerSession: 2, participantTimeMs: 86_400_000, syncMode: "per_participant" },
      offered,
      runs: records.map((r) => ({ ...r, row: rowOf(r) })),
      medians,
      errors: { total: totalErrors, byStatus: errorsByStatus },
      versionCheck,
      disturbedRuns: disturbed.map((r) => ({ scenario: r.scenario, run: r.run, otherCpuPct: r.cpu.otherCpuPct }))
    }
    const file = await writeReport(resultsDir, startedAt, report)
    console.log(`results: ${path.relative(process.cwd(), file)} (and load-tests/results/latest.json)`)
    if (!ok) console.log("bench FAILED")
    return ok ? 0 : 1
  } catch (error) {
    return bench.failed(error)
  }
}

// exit explicitly: a stray handle must not keep a finished bench alive (stdout is synchronous here)
process.exit(await main())
