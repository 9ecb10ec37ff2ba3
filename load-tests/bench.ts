/**
 * SyncKairos command bench: `npm run bench [-- options]` (see --help and load-tests/README.md).
 *
 * Measures the `api` role alone: one instance (`node dist/app/main.js api`) on a redis-server of its
 * own (configured as docker-compose.yml deploys it) and a database on a PostgreSQL server of its own,
 * loaded by the project's k6 scripts: switch-fixed (switch.js, 1,000 switches/s open loop for 20 s),
 * switch-max (switch-max.js, 50 VUs closed loop for 10 s), get-max (get-max.js, the same for reads)
 * and, with --auth, switch-max-token (switch-max-token.js). Each k6 run creates and starts its 200
 * sessions in setup and deletes them in teardown. The scenarios run --runs times, interleaved, on the
 * same instance after an unrecorded warm-up; k6 keeps the thresholds and the latencies, this bench
 * reads the CPU of the instance, Redis and k6 over each scenario's window from /proc. A crossed
 * threshold is reported; the exit code is 1 when a request failed or k6 could not start an iteration
 * on time.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { setTimeout as sleep } from "node:timers/promises"
import { startOwnPostgres } from "../tests/support/postgresServer.ts"
import { startOwnRedis } from "../tests/support/redisServer.ts"
import { CpuTimeline } from "./harness/cpuTimeline.ts"
import { k6Version, type RequestStats, requestStats, runK6Script, stat } from "./harness/k6.ts"
import { type Column, exitWith, positiveOption, runsTable, writeReport } from "./harness/report.ts"
import { describeMachine, machineBusyOver, machineFacts } from "./harness/resources.ts"
import { type RunningService, startService } from "./harness/service.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, "..")
/** Other processes using more than this share of one core during a run make its numbers suspect. */
const DISTURBED_OTHER_CPU_PCT = 15

interface Scenario {
  readonly name: string
  readonly script: string
  /** The tag (`name:<tag>`) of the measured requests. */
  readonly tag: string
  readonly durationS: number
  readonly env: Record<string, string>
  readonly description: string
  readonly needsAuth: boolean
}

const SCENARIOS: ReadonlyArray<Scenario> = [
  { name: "switch-fixed", script: "switch.js", tag: "switch", durationS: 20, env: { RATE: "1000" }, needsAuth: false,
    description: "POST /switch round-robin over the sessions, 1,000/s open loop (constant-arrival-rate)" },
  { name: "switch-max", script: "switch-max.js", tag: "switch", durationS: 10, env: { VUS: "50" }, needsAuth: false,
    description: "the same switches, 50 VUs closed loop: capacity for commands" },
  { name: "get-max", script: "get-max.js", tag: "get", durationS: 10, env: { VUS: "50" }, needsAuth: false,
    description: "GET /v1/sessions/:id round-robin, 50 VUs closed loop: capacity for reads" },
  { name: "switch-max-token", script: "switch-max-token.js", tag: "switch", durationS: 10, env: { VUS: "50" }, needsAuth: true,
    description: "switch-max, each switch sent with the active participant's own token (--auth only)" }
]

const USAGE = `usage: npm run bench -- [options]
  --runs N              repeat the scenarios N times on the same instance (default 3); medians are reported
  --duration-scale X    scale every scenario's duration, e.g. 0.1 for a quick smoke (default 1)
  --scenario NAME       run only this scenario (repeatable, or comma-separated): ${SCENARIOS.map((s) => s.name).join(", ")}
  --warmup S            seconds of unrecorded load per scenario before the first run (default 2; 0 = none)
  --sessions N          sessions each k6 run creates (default 200)
  --auth                run the instance with API_KEYS and TOKEN_SECRET: requests carry an API key, and
                        switch-max-token switches with participant tokens (default scenarios: switch-max, switch-max-token)
  --k6 PATH             the k6 binary (default $K6 or k6 on PATH)
  --profile             run the instance with --cpu-prof; the profile lands in load-tests/results/profiles/
  --help`

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    "duration-scale": { type: "string", default: "1" },
    scenario: { type: "string", multiple: true },
    warmup: { type: "string", default: "2" },
    sessions: { type: "string", default: "200" },
    auth: { type: "boolean", default: false },
    k6: { type: "string", default: process.env["K6"] ?? "k6" },
    profile: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  }
})


const selectedScenarios = (auth: boolean): ReadonlyArray<Scenario> => {
  const names = (values.scenario ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "")
  for (const name of names) {
    const scenario = SCENARIOS.find((s) => s.name === name)
    if (scenario === undefined) throw new Error(`unknown scenario "${name}"; known: ${SCENARIOS.map((s) => s.name).join(", ")}`)
    if (scenario.needsAuth && !auth) throw new Error(`scenario "${name}" needs --auth`)
  }
  if (names.length > 0) return SCENARIOS.filter((s) => names.includes(s.name))
  return auth ? SCENARIOS.filter((s) => s.name === "switch-max" || s.needsAuth) : SCENARIOS.filter((s) => !s.needsAuth)
}

interface RunResult {
  readonly scenario: string
  readonly run: number
  readonly requests: RequestStats
  readonly requestsPerSec: number
  /** Shares of one core over the scenario's window; other: the rest of the machine. */
  readonly cpuPct: { readonly service: number; readonly redis: number; readonly k6: number; readonly other: number | null; readonly steal: number | null }
  /** CPU µs per request of the instance and of Redis. */
  readonly cpuUsPerRequest: { readonly service: number; readonly redis: number }
  readonly k6ExitCode: number | null
  readonly crossedThresholds: ReadonlyArray<string>
  readonly k6Summary: unknown
}

/** One k6 run of `scenario` against `service`, and the CPU of each process over its window. */
const runScenario = async (
  scenario: Scenario,
  durationS: number,
  service: RunningService,
  redisPid: number,
  env: Record<string, string>
): Promise<Omit<RunResult, "run">> => {
  const timeline = new CpuTimeline()
  for (const pid of [service.pid, redisPid, process.pid]) timeline.track(pid)
  timeline.start()
  const k6 = await runK6Script({
    binary: values.k6,
    script: path.join(here, scenario.script),
    cwd: repoRoot,
    env: { BASE_URLS: service.origin, DURATION: `${durationS}s`, ...scenario.env, ...env },
    onStart: (pid) => timeline.track(pid)
  }).finally(() => timeline.stop())
  if (k6.exitCode !== 0 && k6.exitCode !== 99) throw new Error(`k6 exited with ${k6.exitCode}:\n${k6.outputTail.join("\n")}`)
  if (service.exited()) throw new Error(`the instance exited during ${scenario.name}:\n${service.logTail().join("\n")}`)
  const from = stat(k6.metrics["scenario_start"], "min")
  if (Number.isNaN(from)) throw new Error(`k6 reported no scenario_start:\n${k6.outputTail.join("\n")}`)
  const cpu = timeline.between(from, from + durationS * 1000)
  // Tracking order: the instance, Redis, this bench, k6.
  const [svc, redis, bench, k6Cpu] = cpu.seconds
  if (svc == null || redis == null || bench == null || k6Cpu == null) throw new Error("a measured process ended during the run, or was not sampled")
  const requests = requestStats(k6.metrics, scenario.tag)
  const pct = (seconds: number) => Math.round((seconds / durationS) * 1000) / 10
  const perRequest = (seconds: number) => (requests.count > 0 ? Math.round((seconds * 1e6) / requests.count) : 0)
  return {
    scenario: scenario.name,
    requests,
    requestsPerSec: Math.round((requests.count / durationS) * 10) / 10,
    cpuPct: {
      service: pct(svc),
      redis: pct(redis),
      k6: pct(k6Cpu),
      other: cpu.machineBusySeconds === null ? null : Math.max(0, pct(cpu.machineBusySeconds - svc - redis - k6Cpu - bench)),
      steal: cpu.stealPct
    },
    cpuUsPerRequest: { service: perRequest(svc), redis: perRequest(redis) },
    k6ExitCode: k6.exitCode,
    crossedThresholds: k6.crossedThresholds,
    k6Summary: k6.summary
  }
}

// ---- the report


const COLUMNS: ReadonlyArray<Column<RunResult>> = [
  ["count", (r) => r.requests.count, 0],
  ["failed", (r) => r.requests.failed, 0],
  ["dropped", (r) => r.requests.droppedIterations, 0],
  ["req/s", (r) => r.requestsPerSec, 1],
  ["p50 ms", (r) => r.requests.latencyMs.p50, 2],
  ["p95 ms", (r) => r.requests.latencyMs.p95, 2],
  ["p99 ms", (r) => r.requests.latencyMs.p99, 2],
  ["max ms", (r) => r.requests.latencyMs.max, 2],
  ["svc cpu%", (r) => r.cpuPct.service, 0],
  ["redis cpu%", (r) => r.cpuPct.redis, 0],
  ["k6 cpu%", (r) => r.cpuPct.k6, 0],
  ["other cpu%", (r) => r.cpuPct.other, 0],
  ["steal%", (r) => r.cpuPct.steal, 1],
  ["svc µs/req", (r) => r.cpuUsPerRequest.service, 0],
  ["redis µs/req", (r) => r.cpuUsPerRequest.redis, 0]
]

const main = async (): Promise<number> => {
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  const auth = values.auth ?? false
  const scenarios = selectedScenarios(auth)
  const runs = positiveOption("runs", values.runs, { integer: true })
  const scale = positiveOption("duration-scale", values["duration-scale"], { integer: false })
  const warmupS = positiveOption("warmup", values.warmup, { integer: false, allowZero: true })
  const sessions = positiveOption("sessions", values.sessions, { integer: true })
  const durationOf = (scenario: Scenario) => Math.max(0.1, Math.round(scenario.durationS * scale * 10) / 10)

  const startedAt = new Date()
  const machine = machineFacts()
  const k6Release = k6Version(values.k6)
  const redisVersion = execFileSync("redis-server", ["--version"]).toString().match(/v=(\S+)/)?.[1] ?? "unknown"
  console.log(`SyncKairos command bench (the api role alone) — ${startedAt.toISOString()}`)
  console.log(describeMachine(machine, redisVersion))
  console.log(`load: ${k6Release}; ${runs} run(s) of each scenario, ${sessions} sessions per k6 run`)
  for (const s of scenarios) console.log(`  ${s.name.padEnd(16)} ${s.script}, ${durationOf(s)} s — ${s.description}`)
  const busyBeforePct = await machineBusyOver(1000)
  if (busyBeforePct !== null && busyBeforePct > 10) {
    console.log(`WARNING: the machine was already ${busyBeforePct} % busy (all cores) before the bench started`)
  }

  const postgres = await startOwnPostgres({ durable: true })
  const redis = await startOwnRedis({ persistence: "everysec" })
  const database = `synckairos_bench_${randomBytes(4).toString("hex")}`
  let service: RunningService | undefined
  const stopAll = async () => {
    await service?.stop()
    await redis.stop()
    await postgres.close()
  }
  const onSignal = () => {
    console.error("interrupted: stopping the servers")
    void stopAll().finally(() => process.exit(130))
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)

  const results: Array<RunResult> = []
  try {
    // Fresh secrets per sitting. The token rate limit is raised so that the closed loop measures the
    // check's cost, not the limit: the limiter does the same Redis round trip at any rate.
    const apiKey = auth ? randomBytes(24).toString("base64url") : ""
    const authEnv: Record<string, string> = auth
      ? { API_KEYS: apiKey, TOKEN_SECRET: randomBytes(32).toString("base64url"), RATE_LIMIT_TOKEN_RPS: "100000" }
      : {}
    service = await startService({
      cwd: repoRoot,
      role: "api",
      env: { REDIS_URL: redis.url, DATABASE_URL: postgres.databaseUrl(database), LOG_LEVEL: "warn", ...authEnv },
      nodeArgs: values.profile ? ["--cpu-prof", "--cpu-prof-dir", path.join(here, "results", "profiles")] : []
    })
    console.log(`instance: pid ${service.pid} at ${service.origin} (api role), redis-server pid ${redis.pid()}`)
    const k6Env = { SESSIONS: String(sessions), ...(auth ? { API_KEY: apiKey } : {}) }

    if (warmupS > 0) {
      for (const scenario of scenarios) {
        // JIT-compile the instance before anything is measured.
        const warm = await runScenario(scenario, warmupS, service, redis.pid(), k6Env)
        console.log(`warm-up ${scenario.name}: ${warm.requests.count} requests, ${warm.requests.failed} failed`)
      }
    }
    for (let run = 1; run <= runs; run++) {
      for (const scenario of scenarios) {
        await sleep(500) // let the previous scenario's connections close and the GC settle
        const r = { ...(await runScenario(scenario, durationOf(scenario), service, redis.pid(), k6Env)), run }
        results.push(r)
        const { latencyMs } = r.requests
        console.log(`run ${run}/${runs} ${scenario.name}: ${r.requests.count} req, ${r.requests.failed} failed, ${r.requests.droppedIterations} dropped, ` +
          `${r.requestsPerSec} req/s, p50 ${latencyMs.p50} p95 ${latencyMs.p95} p99 ${latencyMs.p99} max ${latencyMs.max} ms` +
          (r.crossedThresholds.length === 0 ? "" : `; thresholds crossed: ${r.crossedThresholds.join(", ")}`))
      }
    }
  } catch (error) {
    if (service !== undefined) console.error(`--- log tail of the instance ---\n${service.logTail().join("\n")}`)
    throw error
  } finally {
    const warnings = service?.warningLines() ?? []
    await stopAll()
    if (warnings.length > 0) console.log(`the instance printed ${warnings.length} warning line(s), first: ${warnings[0]}`)
  }

  const { text, medians } = runsTable("scenario", scenarios.map((s) => [s.name, results.filter((r) => r.scenario === s.name)] as const), COLUMNS)
  console.log(`\n${text}\n`)
  console.log("One instance of the api role (no scheduler, no audit): not the whole system as deployed (npm run bench:system).\n" +
    "latency: k6's http_req_duration of the measured requests, ms from the send to the last byte. dropped: iterations k6 could not\n" +
    "start on time (open loop). cpu%: share of one core over the scenario; other: the rest of the machine; steal: the hypervisor's share.")

  const problems = results.flatMap((r) => [
    ...(r.requests.failed > 0 ? [`${r.scenario} run ${r.run}: ${r.requests.failed} requests failed`] : []),
    ...(r.requests.droppedIterations > 0 ? [`${r.scenario} run ${r.run}: k6 dropped ${r.requests.droppedIterations} iterations`] : [])
  ])
  for (const p of problems) console.log(`! ${p}`)
  const disturbed = results.filter((r) => (r.cpuPct.other ?? 0) > DISTURBED_OTHER_CPU_PCT).map((r) => `${r.scenario} run ${r.run} (${r.cpuPct.other} %)`)
  if (disturbed.length > 0) {
    console.log(`WARNING: other processes used more than ${DISTURBED_OTHER_CPU_PCT} % of a core during ${disturbed.join(", ")}: those numbers are disturbed`)
  }
  const file = await writeReport(path.join(here, "results"), startedAt, {
    tool: "synckairos load-tests/bench.ts",
    date: startedAt.toISOString(),
    machine: { ...machine, busyBeforeStartPct: busyBeforePct },
    redisVersion,
    k6Version: k6Release,
    role: "api",
    options: { runs, scale, warmupS, sessions, auth, scenarios: scenarios.map((s) => ({ name: s.name, script: s.script, durationS: durationOf(s), env: s.env })) },
    medians,
    problems,
    runs: results
  })
  console.log(`results: ${path.relative(process.cwd(), file)} (and load-tests/results/latest.json)`)
  return problems.length === 0 ? 0 : 1
}

await exitWith(main)
