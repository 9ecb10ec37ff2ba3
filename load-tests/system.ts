/**
 * Whole-system bench: `npm run bench:system [-- options]` (see --help and docs/benchmarks-system.md).
 *
 * Each run measures the service as deployed: a redis-server of its own (configured as
 * docker-compose.yml deploys it), a database on a PostgreSQL server of its own, and
 * `node dist/app/main.js all` (or `api` and `worker` as two processes). k6 runs the project's
 * load-tests/switch.js (500 switches/s for 20 s over 200 sessions) or, with --max, switch-max.js
 * (50 VUs in a closed loop); then the bench waits until the audit has written every event. It
 * reports the CPU per event of the service, Redis and PostgreSQL (every process of each, from
 * /proc), Redis's memory per event once the audit has drained with the bytes of each kind of key,
 * a snapshot's bytes, and k6's latency and throughput. With several --checkout, the runs alternate
 * between the checkouts, so old and new code are compared in one sitting.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, readdirSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { setTimeout as sleep } from "node:timers/promises"
import { type K6Run, runK6 } from "./harness/k6.ts"
import { RedisAdmin } from "./harness/redis.ts"
import { type KindFootprint, memoryPicture, type MemoryPicture } from "./harness/redisMemory.ts"
import { exitWith, median, writeReport } from "./harness/report.ts"
import {
  describeMachine,
  machineBusyOver,
  machineFacts,
  type MachineTicks,
  machineTicks,
  processTreeCpuSeconds,
  reapedChildrenCpuSeconds,
  selfCpuSeconds
} from "./harness/resources.ts"
import { type OwnPostgres, startOwnPostgres } from "../tests/support/postgresServer.ts"
import { type OwnRedis, startOwnRedis } from "../tests/support/redisServer.ts"
import { StoreSettings } from "../src/infra/StoreSettings.ts"
import { ensureDatabase } from "../src/infra/pg/MigrationRunner.ts"
import { cpuByStage, monotonicUs, type StageShare } from "./harness/cpuStages.ts"
import { countRows } from "./harness/rows.ts"
import { type RunningService, startService } from "./harness/service.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, "..")

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    max: { type: "boolean", default: false },
    rate: { type: "string", default: "500" },
    "duration-s": { type: "string" },
    sessions: { type: "string", default: "200" },
    vus: { type: "string", default: "50" },
    roles: { type: "string", default: "all" },
    checkout: { type: "string", multiple: true },
    k6: { type: "string", default: process.env["K6"] ?? "k6" },
    "drain-timeout-s": { type: "string", default: "300" },
    "idle-s": { type: "string", default: "5" },
    "cpu-prof": { type: "string" },
    floor: { type: "boolean", default: false },
    "floor-audit": { type: "boolean", default: false },
    "memory-every-s": { type: "string", default: "10" },
    help: { type: "boolean", default: false }
  }
})

const USAGE = `usage: npm run bench:system -- [options]
  --runs N             runs per checkout (default 3); medians over them
  --max                k6 closed loop (switch-max.js, --vus VUs) instead of the fixed rate
  --rate N             switches/s offered by switch.js (default 500)
  --duration-s S       k6 scenario length (default 20, or 10 with --max)
  --sessions N         sessions k6 creates and starts (default 200)
  --vus N              --max: virtual users of the closed loop (default 50)
  --roles all|api+worker   one process (npm start), or an api and a worker process
  --checkout [LABEL=]DIR   a built checkout to measure (repeatable: runs alternate); default this one
  --k6 PATH            the k6 binary (default $K6 or k6 on PATH)
  --drain-timeout-s S  how long to wait for the audit to drain (default 300)
  --idle-s S           idle CPU measured for S seconds before the load (default 5)
  --memory-every-s S   sample Redis used_memory every S seconds during the load (default 10); with a
                       run longer than the resume window, the report gives its trend once the window is full
  --floor              also run the floor (load-tests/floor/server.mjs: HTTP, one Redis script per
                       command and the shard feeds, no audit) under the same load, alternating, with
                       the ratios of CPU per event to it
  --floor-audit        also run the floor with the least audit (load-tests/floor/audit.mjs: one
                       consumer group read, one PostgreSQL statement per 300 ms linger, no BullMQ),
                       labelled floor+audit, with the ratios to it
  --cpu-prof DIR       write a V8 CPU profile of each service process to DIR (for where the time goes)`

interface Checkout {
  readonly label: string
  readonly dir: string
  readonly commit: string
  /** The floor server of this repository rather than a checkout of the service. */
  readonly floor?: boolean
  /** With the floor: its least audit on (FLOOR_AUDIT=1), drained and counted as the service's is. */
  readonly floorAudit?: boolean
}

const FLOOR_ENTRY_POINT = "load-tests/floor/server.mjs"

interface CpuReading {
  readonly machine: MachineTicks | null
  readonly services: ReadonlyArray<number | null>
  readonly redis: number | null
  readonly postgres: number | null
  readonly generator: number
  readonly atMs: number
}

/** CPU ms per event of each part, and shares of one core over the window. */
interface CpuPerEvent {
  readonly windowS: number
  readonly serviceMs: number
  /** Per process, in role order (one entry for `all`). */
  readonly serviceMsByRole: Record<string, number>
  readonly redisMs: number
  readonly postgresMs: number
  readonly totalMs: number
  readonly generatorCpuPct: number
  /** Everything else on the machine, share of one core: other work disturbing the run. */
  readonly otherCpuPct: number | null
}

interface RunResult {
  readonly checkout: string
  readonly run: number
  readonly mode: "fixed" | "max"
  /** Events the audit wrote: the setup's creates and starts, and one per switch. */
  readonly events: number
  /** Events expected from k6's answers (2 per session + the switches answered 2xx). */
  readonly expectedEvents: number
  readonly switchesPerSec: number
  readonly k6: Omit<K6Run, "summary" | "outputTail"> & { readonly thresholds: "passed" | "crossed" }
  readonly cpu: CpuPerEvent
  /** Before the load: % of one core each part uses idle. */
  readonly idleCpuPct: { readonly servicePct: number; readonly redisPct: number; readonly postgresPct: number }
  readonly drainS: number
  readonly memory: MemoryPicture & { readonly usedBefore: number; readonly bytesPerEvent: number }
  /** Redis used_memory during the load: seconds since k6 started, bytes. */
  readonly memoryDuringLoad: ReadonlyArray<readonly [number, number]>
  readonly machineBusyBeforePct: number | null
  readonly serviceWarnings: number
  readonly k6Summary: unknown
  /** With --cpu-prof: each service process's CPU over the load and drain, by stage (its role, its stages). */
  readonly stages: ReadonlyArray<{ readonly role: string; readonly stages: ReadonlyArray<StageShare> }> | null
}

const runs = Number(values.runs)
const mode = values.max ? "max" : "fixed"
const durationS = Number(values["duration-s"] ?? (values.max ? 10 : 20))
const sessions = Number(values.sessions)
const roles = values.roles === "api+worker" ? ["worker", "api"] : values.roles === "all" ? ["all"] : null
const drainTimeoutMs = Number(values["drain-timeout-s"]) * 1000
const idleSeconds = Number(values["idle-s"])
// The instances run with the default resume window (the bench sets no RESUME_WINDOW_MS).
const resumeWindowS = StoreSettings.schema.resumeWindowMs.defaultValue / 1000

const checkoutOf = (spec: string): Checkout => {
  const at = spec.indexOf("=")
  const dir = path.resolve(at > 0 ? spec.slice(at + 1) : spec)
  const label = at > 0 ? spec.slice(0, at) : path.basename(dir)
  if (!existsSync(path.join(dir, "dist/app/main.js"))) throw new Error(`${dir} is not built (no dist/app/main.js): run \`npm run build\` there`)
  const git = (...args: Array<string>) => execFileSync("git", ["-C", dir, ...args]).toString().trim()
  const dirty = git("status", "--porcelain", "--untracked-files=no") === "" ? "" : " (uncommitted changes)"
  return { label, dir, commit: `${git("rev-parse", "--short", "HEAD")}${dirty}` }
}

interface Ready {
  readonly status?: string
  readonly checks?: { postgres?: string; audit?: { backlog?: number; queued_jobs?: number; failed_jobs?: number } }
}

const readReady = async (origin: string): Promise<Ready> => {
  const response = await fetch(`${origin}/ready`)
  return (await response.json()) as Ready
}

/** Polls the audit's instance's /ready until `done`; returns false on timeout. */
const waitForReady = async (origin: string, done: (ready: Ready) => boolean, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (done(await readReady(origin).catch(() => ({})))) return true
    await sleep(200)
  }
  return false
}

const drained = (ready: Ready) =>
  ready.checks?.audit?.backlog === 0 && ready.checks.audit.queued_jobs === 0

const readCpu = async (services: ReadonlyArray<RunningService>, redis: OwnRedis, postgres: OwnPostgres): Promise<CpuReading> => {
  const [machine, serviceCpu, redisCpu, postgresCpu, reaped] = await Promise.all([
    machineTicks(),
    Promise.all(services.map((s) => processTreeCpuSeconds(s.pid))),
    processTreeCpuSeconds(redis.pid()),
    processTreeCpuSeconds(postgres.pid()),
    reapedChildrenCpuSeconds()
  ])
  // The generator: this process and k6, which it has reaped by the second reading.
  return { machine, services: serviceCpu, redis: redisCpu, postgres: postgresCpu, generator: selfCpuSeconds() + reaped, atMs: performance.now() }
}

/** CPU seconds each part used between two readings, and the window's length. */
const cpuBetween = (a: CpuReading, b: CpuReading) => {
  const seconds = (x: number | null, y: number | null) => {
    if (x === null || y === null) throw new Error("a measured process ended during the run")
    return y - x
  }
  const windowS = (b.atMs - a.atMs) / 1000
  const services = a.services.map((x, i) => seconds(x, b.services[i] ?? null))
  const service = services.reduce((x, y) => x + y, 0)
  const redis = seconds(a.redis, b.redis)
  const postgres = seconds(a.postgres, b.postgres)
  const generator = b.generator - a.generator
  const busy = a.machine !== null && b.machine !== null && b.machine.total > a.machine.total
    ? ((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * windowS * machineFacts().cpuCount
    : null
  const pctOfCore = (s: number) => Math.round((s / windowS) * 1000) / 10
  return { windowS, services, service, redis, postgres, generator, busy, pctOfCore }
}

const cpuPerEvent = (a: CpuReading, b: CpuReading, events: number, roleNames: ReadonlyArray<string>): CpuPerEvent => {
  const cpu = cpuBetween(a, b)
  const perEvent = (s: number) => Math.round((s * 1e6) / events) / 1000
  const ours = cpu.service + cpu.redis + cpu.postgres + cpu.generator
  return {
    windowS: Math.round(cpu.windowS * 10) / 10,
    serviceMs: perEvent(cpu.service),
    serviceMsByRole: Object.fromEntries(roleNames.map((role, i) => [role, perEvent(cpu.services[i]!)])),
    redisMs: perEvent(cpu.redis),
    postgresMs: perEvent(cpu.postgres),
    totalMs: perEvent(cpu.service + cpu.redis + cpu.postgres),
    generatorCpuPct: cpu.pctOfCore(cpu.generator),
    otherCpuPct: cpu.busy === null ? null : Math.max(0, cpu.pctOfCore(cpu.busy - ours))
  }
}

/** Share of one core each part uses with no load: the fixed cost that every event at a low rate shares. */
const idleCpu = async (services: ReadonlyArray<RunningService>, redis: OwnRedis, postgres: OwnPostgres, seconds: number) => {
  const a = await readCpu(services, redis, postgres)
  await sleep(seconds * 1000)
  const cpu = cpuBetween(a, await readCpu(services, redis, postgres))
  return { servicePct: cpu.pctOfCore(cpu.service), redisPct: cpu.pctOfCore(cpu.redis), postgresPct: cpu.pctOfCore(cpu.postgres) }
}

/** Samples Redis used_memory every `everyMs` until stopped; the series starts at 0 s. */
const sampleMemory = (admin: RedisAdmin, everyMs: number) => {
  const samples: Array<readonly [number, number]> = []
  const start = performance.now()
  let running = true
  const loop = (async () => {
    while (running) {
      samples.push([Math.round((performance.now() - start) / 100) / 10, await admin.usedMemory()])
      await sleep(everyMs)
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return samples
    }
  }
}

/**
 * How Redis memory moved once the resume window was full (from twice its length on, when the window's
 * events and the trims that follow them have settled): the least-squares slope, bytes per minute, and
 * the level it moved around. null when the run was too short to tell.
 */
const memoryTrend = (samples: ReadonlyArray<readonly [number, number]>, windowS: number) => {
  const settled = samples.filter(([t]) => t >= 2 * windowS)
  if (settled.length < 3) return null
  const n = settled.length
  const meanT = settled.reduce((a, [t]) => a + t, 0) / n
  const meanB = settled.reduce((a, [, b]) => a + b, 0) / n
  const slope = settled.reduce((a, [t, b]) => a + (t - meanT) * (b - meanB), 0) / settled.reduce((a, [t]) => a + (t - meanT) ** 2, 0)
  return { fromS: settled[0]![0], toS: settled.at(-1)![0], level: meanB, bytesPerMinute: slope * 60, min: Math.min(...settled.map(([, b]) => b)), max: Math.max(...settled.map(([, b]) => b)) }
}

/** What an interrupt must stop besides the PostgreSQL server: the running run's Redis. */
const stopOnInterrupt = new Set<() => Promise<void>>()

const profileDir = values["cpu-prof"] === undefined ? undefined : path.resolve(values["cpu-prof"])

/** The profile a service process wrote to profileDir when it exited (node names it after the pid). */
const profileOf = (pid: number): string | undefined => {
  const file = readdirSync(profileDir!).find((name) => name.endsWith(".cpuprofile") && name.includes(`.${pid}.`))
  return file === undefined ? undefined : path.join(profileDir!, file)
}

/** One run on `checkout`: fresh Redis and database, the service started, k6, the drain, the readings. */
const measure = async (checkout: Checkout, run: number, postgres: OwnPostgres, k6Binary: string): Promise<RunResult> => {
  const machineBusyBeforePct = await machineBusyOver(1000)
  const redis = await startOwnRedis({ persistence: "everysec" })
  stopOnInterrupt.add(redis.stop)
  const database = `synckairos_system_${randomBytes(4).toString("hex")}`
  const databaseUrl = postgres.databaseUrl(database)
  const services: Array<RunningService> = []
  let admin: RedisAdmin | undefined
  try {
    const floor = checkout.floor === true
    const roleNames = floor ? ["floor"] : roles!
    const env = { REDIS_URL: redis.url, DATABASE_URL: databaseUrl, LOG_LEVEL: "info", ...(checkout.floorAudit === true ? { FLOOR_AUDIT: "1" } : {}) }
    const nodeArgs = profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir]
    // The floor is one process; without its audit it answers /ready at once, and has nothing to drain.
    const audited = !floor || checkout.floorAudit === true
    const entryPoint = floor ? FLOOR_ENTRY_POINT : undefined
    // The service's audit creates its database itself; the floor's is given one.
    if (floor && audited) await ensureDatabase(databaseUrl)
    for (const role of roleNames) services.push(await startService({ cwd: checkout.dir, env, role, nodeArgs, entryPoint }))
    const audit = services[0]!
    const api = services.at(-1)!
    const isDrained = audited ? drained : () => true
    // The audit's database is created and migrated in the background at start: not part of the load.
    if (audited && !(await waitForReady(audit.origin, (r) => r.checks?.postgres === "ok" && drained(r), 60_000))) {
      throw new Error("the audit did not connect to PostgreSQL within 60 s")
    }
    const idle = await idleCpu(services, redis, postgres, idleSeconds)
    admin = await RedisAdmin.connect(redis.url)
    const usedBefore = await admin.usedMemory()
    const before = await readCpu(services, redis, postgres)
    const fromUs = monotonicUs()
    const sampling = sampleMemory(admin, Number(values["memory-every-s"]) * 1000)
    const k6 = await runK6({
      binary: k6Binary,
      script: path.join(here, mode === "max" ? "switch-max.js" : "switch.js"),
      cwd: repoRoot,
      env: {
        BASE_URLS: api.origin,
        SESSIONS: String(sessions),
        DURATION: `${durationS}s`,
        KEEP_SESSIONS: "1", // the sessions stay live: their memory is part of the picture
        ...(mode === "max" ? { VUS: values.vus } : { RATE: values.rate })
      }
    })
    const memoryDuringLoad = await sampling.stop()
    if (k6.exitCode !== 0 && k6.exitCode !== 99) {
      throw new Error(`k6 exited with ${k6.exitCode}:\n${k6.outputTail.join("\n")}`)
    }
    const drainStart = performance.now()
    if (!(await waitForReady(audit.origin, isDrained, drainTimeoutMs))) {
      throw new Error(`the audit did not drain within ${drainTimeoutMs / 1000} s`)
    }
    const drainS = Math.round((performance.now() - drainStart) / 100) / 10
    const after = await readCpu(services, redis, postgres)
    const toUs = monotonicUs()
    const expectedEvents = 2 * sessions + k6.switches - k6.failedSwitches
    // The floor without its audit keeps none: its events are what k6's answers make.
    const events = audited ? await countRows(databaseUrl, "session_events") : expectedEvents
    const picture = await memoryPicture(admin)
    const { summary, outputTail: _tail, ...k6Numbers } = k6
    // The profiles are written as the processes exit.
    for (const service of [...services].reverse()) await service.stop()
    const stages = profileDir === undefined ? null : services.map((service, i) => {
      const file = profileOf(service.pid)
      if (file === undefined) throw new Error(`no CPU profile of pid ${service.pid} in ${profileDir}`)
      return { role: roleNames[i]!, stages: cpuByStage(file, { fromUs, toUs }) }
    })
    return {
      checkout: checkout.label,
      run,
      mode,
      events,
      expectedEvents,
      switchesPerSec: Math.round((k6.switches / durationS) * 10) / 10,
      k6: { ...k6Numbers, thresholds: k6.exitCode === 0 ? "passed" : "crossed" },
      cpu: cpuPerEvent(before, after, events, roleNames),
      idleCpuPct: idle,
      drainS,
      memory: { ...picture, usedBefore, bytesPerEvent: Math.round((picture.usedMemory - usedBefore) / events) },
      memoryDuringLoad,
      machineBusyBeforePct,
      serviceWarnings: services.reduce((n, s) => n + s.warnings(), 0),
      k6Summary: summary,
      stages
    }
  } catch (error) {
    for (const s of services) console.error(`--- log tail of ${checkout.label}'s pid ${s.pid} ---\n${s.logTail().join("\n")}`)
    throw error
  } finally {
    await admin?.close()
    for (const service of [...services].reverse()) await service.stop()
    stopOnInterrupt.delete(redis.stop)
    await redis.stop()
    await postgres.dropDatabase(database).catch((error: unknown) => console.error(`could not drop ${database}: ${String(error)}`))
  }
}

// ---- the report

const fixed = (digits: number) => (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? "-" : v.toFixed(digits))

interface Row {
  readonly events: number
  readonly switchesPerSec: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
  readonly serviceMs: number
  readonly redisMs: number
  readonly postgresMs: number
  readonly totalMs: number
  readonly otherCpuPct: number | null
  readonly serviceIdlePct: number
  readonly bytesPerEvent: number
  readonly snapshotBytes: number | null
  readonly drainS: number
}

const rowOf = (r: RunResult): Row => ({
  events: r.events,
  switchesPerSec: r.switchesPerSec,
  ...r.k6.latencyMs,
  serviceMs: r.cpu.serviceMs,
  redisMs: r.cpu.redisMs,
  postgresMs: r.cpu.postgresMs,
  totalMs: r.cpu.totalMs,
  otherCpuPct: r.cpu.otherCpuPct,
  serviceIdlePct: r.idleCpuPct.servicePct,
  bytesPerEvent: r.memory.bytesPerEvent,
  snapshotBytes: r.memory.snapshotBytes,
  drainS: r.drainS
})

const medianRow = (rows: ReadonlyArray<Row>): Row => {
  const of = (pick: (r: Row) => number | null) => {
    const present = rows.map(pick).filter((v): v is number => v !== null)
    return present.length === 0 ? null : median(present)
  }
  return Object.fromEntries(Object.keys(rows[0]!).map((key) => [key, of((r) => r[key as keyof Row])])) as unknown as Row
}

/** Title, statistic and decimals of each column. */
const COLUMNS: ReadonlyArray<readonly [string, keyof Row, number]> = [
  ["events", "events", 0], ["switch/s", "switchesPerSec", 1],
  ["p50 ms", "p50", 2], ["p95 ms", "p95", 2], ["p99 ms", "p99", 2], ["max ms", "max", 1],
  ["svc ms/ev", "serviceMs", 3], ["redis ms/ev", "redisMs", 3], ["pg ms/ev", "postgresMs", 3], ["all ms/ev", "totalMs", 3],
  ["other cpu%", "otherCpuPct", 0], ["svc idle%", "serviceIdlePct", 1],
  ["redis B/ev", "bytesPerEvent", 0], ["snapshot B", "snapshotBytes", 0], ["drain s", "drainS", 1]
]
const cells = (row: Row) => COLUMNS.map(([, key, digits]) => fixed(digits)(row[key]))

const table = (header: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>, leftColumns: number): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)))
  const render = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  return [render(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(render)].join("\n")
}

/** The bytes of each kind of key per event, median over a checkout's runs. */
const memoryLines = (results: ReadonlyArray<RunResult>) => {
  const kinds = results[0]!.memory.kinds.map((k) => k.kind)
  return kinds.map((kind) => {
    const of = (pick: (k: KindFootprint, r: RunResult) => number | null) =>
      median(results.map((r) => pick(r.memory.kinds.find((k) => k.kind === kind)!, r) ?? Number.NaN))
    return {
      kind,
      keys: of((k) => k.keys),
      entries: of((k) => k.entries),
      bytes: of((k) => k.bytes),
      bytesPerEvent: of((k, r) => Math.round(k.bytes / r.events)),
      bytesPerEntry: of((k) => (k.entries === null || k.entries === 0 ? null : Math.round(k.bytes / k.entries)))
    }
  })
}

const main = async (): Promise<number> => {
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (roles === null) throw new Error(`--roles must be all or api+worker, got ${values.roles}`)
  const checkouts = [
    ...(values.checkout ?? [repoRoot]).map(checkoutOf),
    ...(values.floor ? [{ label: "floor", dir: repoRoot, commit: checkoutOf(repoRoot).commit, floor: true }] : []),
    ...(values["floor-audit"] ? [{ label: "floor+audit", dir: repoRoot, commit: checkoutOf(repoRoot).commit, floor: true, floorAudit: true }] : [])
  ]
  const startedAt = new Date()
  const machine = machineFacts()
  const redisVersion = execFileSync("redis-server", ["--version"]).toString().match(/v=(\S+)/)?.[1] ?? "unknown"
  console.log(`SyncKairos whole-system bench — ${startedAt.toISOString()}`)
  console.log(describeMachine(machine, redisVersion))
  console.log(mode === "max"
    ? `load: k6 switch-max.js, ${values.vus} VUs closed loop for ${durationS} s over ${sessions} sessions; roles ${roles.join(" + ")}`
    : `load: k6 switch.js, ${values.rate} switches/s for ${durationS} s over ${sessions} sessions; roles ${roles.join(" + ")}`)
  for (const c of checkouts) console.log(`checkout ${c.label}: ${c.dir} at ${c.commit}`)

  const postgres = await startOwnPostgres({ durable: true })
  // The instances and k6 are killed when this process exits; the servers also have data to remove.
  const onSignal = () => {
    console.error("interrupted: stopping the servers")
    void Promise.allSettled([postgres.close(), ...[...stopOnInterrupt].map((stop) => stop())]).finally(() => process.exit(130))
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  const results: Array<RunResult> = []
  try {
    for (let run = 1; run <= runs; run++) {
      for (const checkout of checkouts) {
        const result = await measure(checkout, run, postgres, values.k6)
        results.push(result)
        const r = rowOf(result)
        const byRole = Object.entries(result.cpu.serviceMsByRole)
        const roleSplit = byRole.length > 1 ? ` (${byRole.map(([role, ms]) => `${role} ${ms}`).join(", ")})` : ""
        console.log(`${checkout.label} run ${run}: ${result.events} events (expected ${result.expectedEvents}), ${r.switchesPerSec} switch/s, ` +
          `p99 ${r.p99} ms, CPU ms/event svc ${r.serviceMs}${roleSplit} redis ${r.redisMs} pg ${r.postgresMs} = ${r.totalMs}, ` +
          `other ${r.otherCpuPct} % of a core, service idle ${r.serviceIdlePct} %, Redis ${r.bytesPerEvent} B/event, drain ${r.drainS} s`)
      }
    }
  } finally {
    await postgres.close()
  }

  const lines: Array<Array<string>> = []
  const medians: Record<string, Row> = {}
  for (const c of checkouts) {
    const mine = results.filter((r) => r.checkout === c.label)
    for (const r of mine) lines.push([c.label, String(r.run), ...cells(rowOf(r))])
    medians[c.label] = medianRow(mine.map(rowOf))
    if (mine.length > 1) lines.push([c.label, "median", ...cells(medians[c.label]!)])
  }
  console.log(`\nper event (CPU from /proc: the service's process(es), redis-server, every PostgreSQL process; ` +
    `Redis used_memory after the audit drained, per event)`)
  console.log(table(["checkout", "run", ...COLUMNS.map(([title]) => title)], lines, 2))

  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "-")
  for (const floor of checkouts.filter((c) => c.floor === true)) {
    const floorRow = medians[floor.label]!
    const audited = floor.floorAudit === true
    console.log(`\nCPU per event over the ${floor.label}'s (medians)`)
    for (const c of checkouts.filter((c) => c.floor !== true)) {
      const row = medians[c.label]!
      const ratios = [
        `all ${ratio(row.totalMs, floorRow.totalMs)}`,
        `service process ${ratio(row.serviceMs, floorRow.serviceMs)}`,
        `Redis ${ratio(row.redisMs, floorRow.redisMs)}`,
        ...(audited ? [`PostgreSQL ${ratio(row.postgresMs, floorRow.postgresMs)}`] : [])
      ]
      console.log(`${c.label}: ${ratios.join(", ")}${audited ? "" : " (the floor has no audit: its PostgreSQL does nothing)"}`)
    }
  }

  const memory: Record<string, ReturnType<typeof memoryLines>> = {}
  for (const c of checkouts) {
    memory[c.label] = memoryLines(results.filter((r) => r.checkout === c.label))
    console.log(`\nRedis by kind of key, ${c.label} (median of the runs; MEMORY USAGE summed over the keys)`)
    console.log(table(
      ["kind", "keys", "entries", "bytes", "B/event", "B/entry"],
      memory[c.label]!.map((m) => [m.kind, fixed(0)(m.keys), fixed(0)(m.entries), fixed(0)(m.bytes), fixed(0)(m.bytesPerEvent), fixed(0)(m.bytesPerEntry)]),
      1
    ))
  }
  for (const r of results) {
    for (const { role, stages } of r.stages ?? []) {
      console.log(`\nservice CPU by stage, ${r.checkout} run ${r.run}, role ${role} (V8 profile of its main thread over the load and the drain; ms per event)`)
      console.log(table(["stage", "ms/event", "share"], stages.map((s) => [s.stage, (s.ms / r.events).toFixed(3), `${s.pct.toFixed(1)} %`]), 1))
    }
  }
  const trends = results.flatMap((r) => {
    const trend = memoryTrend(r.memoryDuringLoad, resumeWindowS)
    return trend === null ? [] : [{ checkout: r.checkout, run: r.run, ...trend }]
  })
  if (trends.length > 0) {
    console.log(`\nRedis used_memory under the load once the resume window (${resumeWindowS} s) was full ` +
      `(samples every ${values["memory-every-s"]} s; least-squares slope)`)
    console.log(table(
      ["checkout", "run", "from s", "to s", "level MB", "min MB", "max MB", "slope KB/min", "per 10 min"],
      trends.map((t) => [
        t.checkout, String(t.run), fixed(0)(t.fromS), fixed(0)(t.toS), fixed(2)(t.level / 1e6), fixed(2)(t.min / 1e6), fixed(2)(t.max / 1e6),
        fixed(1)(t.bytesPerMinute / 1000), `${fixed(2)((100 * t.bytesPerMinute * 10) / t.level)} %`
      ]),
      2
    ))
  }
  const problems = results.flatMap((r) => [
    ...(r.events !== r.expectedEvents ? [`${r.checkout} run ${r.run}: the audit holds ${r.events} events, k6's answers make ${r.expectedEvents}`] : []),
    ...(r.k6.failedSwitches > 0 ? [`${r.checkout} run ${r.run}: ${r.k6.failedSwitches} switches failed`] : []),
    ...(r.k6.droppedIterations > 0 ? [`${r.checkout} run ${r.run}: k6 dropped ${r.k6.droppedIterations} iterations`] : [])
  ])
  for (const p of problems) console.log(`! ${p}`)
  const file = await writeReport(path.join(here, "results", "system"), startedAt, {
    tool: "synckairos load-tests/system.ts",
    date: startedAt.toISOString(),
    machine,
    redisVersion,
    options: { runs, mode, rate: Number(values.rate), vus: Number(values.vus), durationS, sessions, roles },
    checkouts,
    medians,
    memory,
    memoryTrends: trends,
    problems,
    runs: results
  })
  console.log(`results: ${path.relative(process.cwd(), file)}`)
  return problems.length === 0 ? 0 : 1
}

await exitWith(main)
