/**
 * Deadline bench: `npm run bench:deadlines [-- --runs N --sessions N --spread-s S]`.
 *
 * On a Redis server and a PostgreSQL database of its own, it starts two worker processes (two
 * schedulers racing, each beside its audit projector) and counts the Redis commands they issue while
 * nothing is due, by command: the scheduler's are the pings of its shard-feed connection (PING),
 * shard-log reads on a gap (XRANGE), index resyncs (ZRANGEBYSCORE) and clock calibration (TIME). Then
 * an API instance creates and starts N sessions (default 10,000) whose clocks run out spread over S
 * seconds (default 30), starting once they are all set up; when all are past, it reads every shard
 * log: each session must have exactly one TIME_EXPIRED, and its lateness is the commit instant (the
 * Redis time in the event's stream id) minus the deadline it is stamped with.
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { Redis } from "ioredis"
import { makeKeySchema } from "../src/infra/keys.ts"
import { toLogEntry } from "../src/infra/streamEntries.ts"
import { streamIdMs } from "../src/infra/streamIds.ts"
import { LatencyHistogram, type LatencySummary } from "./harness/histogram.ts"
import { makePool } from "./harness/pool.ts"
import { parseInfo } from "./harness/redis.ts"
import { median, writeReport } from "./harness/report.ts"
import { machineFacts } from "./harness/resources.ts"
import { freePort, type RunningService, startService } from "./harness/service.ts"
import { createBenchDatabase, dropBenchDatabase } from "./scenarios/audit.ts"
import { JSON_HEADERS } from "./scenarios/sessions.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, "..")
const SHARDS = 16
const IDLE_WINDOW_MS = 10_000
/** After the setup (about 13 s for 10,000 sessions here), so that deadlines meet a settled system. */
const FIRST_DEADLINE_MS = 20_000
const SCHEDULER_COMMANDS = ["ping", "xrange", "xrevrange", "zrangebyscore", "time"]

const USAGE = `usage: npm run bench:deadlines -- [options]
  --runs N        measured runs (default 3); medians are reported
  --sessions N    sessions per run, each with one deadline (default 10000)
  --spread-s S    the deadlines spread over this many seconds (default 30)
  --help`

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    sessions: { type: "string", default: "10000" },
    "spread-s": { type: "string", default: "30" },
    help: { type: "boolean", default: false }
  }
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const runs = Number(values.runs)
const sessionCount = Number(values.sessions)
const spreadMs = Number(values["spread-s"]) * 1000

/** A throwaway redis-server on a free port, gone with its folder at the end. */
const startRedis = async () => {
  const port = await freePort()
  const dir = await mkdtemp(path.join(tmpdir(), "sk-deadlines-"))
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: "ignore"
  })
  const client = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => 50 })
  client.on("error", () => {
    // Refused until the server listens; the loop below retries.
  })
  for (let i = 0; i < 100; i++) {
    if (await client.connect().then(() => true, () => false)) break
    await sleep(50)
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    client,
    stop: async () => {
      client.disconnect()
      child.kill("SIGKILL")
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** Calls per command since the server started, from INFO commandstats. */
const commandCalls = async (redis: Redis): Promise<Map<string, number>> => {
  const calls = new Map<string, number>()
  for (const [key, value] of Object.entries(parseInfo(await redis.info("commandstats")))) {
    const count = /calls=(\d+)/.exec(value)
    if (key.startsWith("cmdstat_") && count !== null) calls.set(key.slice("cmdstat_".length), Number(count[1]))
  }
  return calls
}

interface RunResult {
  /** Every command of the two idle workers (schedulers and audit projectors), per second. */
  readonly idleCommandsPerSecond: number
  /** The schedulers' share of it. */
  readonly idleSchedulerCommandsPerSecond: number
  readonly idleByCommand: Record<string, number>
  readonly lateness: LatencySummary
  readonly expired: number
  readonly missed: number
  readonly doubled: number
}

const createAndStart = async (origin: string): Promise<void> => {
  const pool = makePool(origin, 32)
  let next = 0
  const post = async (pathname: string, body?: unknown) => {
    const response = await pool.request({ method: "POST", path: pathname, headers: JSON_HEADERS, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await response.body.text()
    if (response.statusCode >= 300) throw new Error(`${pathname}: ${response.statusCode} ${text}`)
  }
  const started = Date.now()
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < sessionCount) {
      const i = next++
      const id = randomUUID()
      // Deadlines land FIRST_DEADLINE_MS to FIRST_DEADLINE_MS + spread after the first start.
      const clock = FIRST_DEADLINE_MS + Math.round((i / sessionCount) * spreadMs) - (Date.now() - started)
      await post("/v1/sessions", {
        session_id: id,
        sync_mode: "per_participant",
        participants: [{ participant_id: randomUUID() }],
        total_time_ms: Math.max(1_000, clock)
      })
      await post(`/v1/sessions/${id}/start`)
    }
  }))
  await pool.close()
}

/** Every TIME_EXPIRED in the shard logs: lateness per event, and how many each session got. */
const collectExpiries = async (redis: Redis, prefix: string) => {
  const lateness = new LatencyHistogram()
  const perSession = new Map<string, number>()
  const keys = makeKeySchema({ keyPrefix: prefix, shardCount: SHARDS })
  for (let shard = 0; shard < SHARDS; shard++) {
    let start = "-"
    for (;;) {
      const entries = await redis.xrange(keys.shard(shard).log, start, "+", "COUNT", 5_000)
      for (const entry of entries.map((raw) => toLogEntry(shard, raw))) {
        if (entry.type !== "TIME_EXPIRED") continue
        perSession.set(entry.sessionId, (perSession.get(entry.sessionId) ?? 0) + 1)
        lateness.recordMs(Math.max(0, streamIdMs(entry.logId) - entry.at))
      }
      if (entries.length < 5_000) break
      start = `(${entries[entries.length - 1]![0]}`
    }
  }
  return { lateness, perSession }
}

const runOnce = async (run: number): Promise<RunResult> => {
  const redis = await startRedis()
  const database = Object.assign(new URL(process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"), {
    pathname: `/synckairos_deadlines_${randomUUID().slice(0, 8)}`
  }).toString()
  await createBenchDatabase(repoRoot, database)
  const prefix = "skdl:"
  const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, DATABASE_URL: database, LOG_LEVEL: "warn", SHARD_COUNT: String(SHARDS) }
  const services: Array<RunningService> = []
  try {
    services.push(await startService({ cwd: repoRoot, env, role: "worker" }), await startService({ cwd: repoRoot, env, role: "worker" }))
    await sleep(2_000)
    const before = await commandCalls(redis.client)
    await sleep(IDLE_WINDOW_MS)
    const after = await commandCalls(redis.client)
    const idleByCommand: Record<string, number> = {}
    for (const [command, calls] of after) {
      const perSecond = (calls - (before.get(command) ?? 0) - (command === "info" ? 1 : 0)) / (IDLE_WINDOW_MS / 1000)
      if (perSecond > 0) idleByCommand[command] = perSecond
    }
    const sum = (commands: ReadonlyArray<string>) => commands.reduce((n, c) => n + (idleByCommand[c] ?? 0), 0)

    const api = await startService({ cwd: repoRoot, env, role: "api" })
    services.push(api)
    const createdAt = Date.now()
    await createAndStart(api.origin)
    console.log(`run ${run}: ${sessionCount} sessions started in ${Date.now() - createdAt} ms; waiting for their deadlines`)
    await sleep(Math.max(0, createdAt + FIRST_DEADLINE_MS + spreadMs + 3_000 - Date.now()))

    const { lateness, perSession } = await collectExpiries(redis.client, prefix)
    const counts = [...perSession.values()]
    return {
      idleCommandsPerSecond: sum(Object.keys(idleByCommand)),
      idleSchedulerCommandsPerSecond: sum(SCHEDULER_COMMANDS),
      idleByCommand,
      lateness: lateness.summary(),
      expired: perSession.size,
      missed: sessionCount - perSession.size,
      doubled: counts.filter((n) => n > 1).length
    }
  } finally {
    for (const service of services.reverse()) await service.stop()
    await redis.stop()
    await dropBenchDatabase(database)
  }
}

const results: Array<RunResult> = []
for (let run = 1; run <= runs; run++) {
  const result = await runOnce(run)
  results.push(result)
  const l = result.lateness
  console.log(
    `run ${run}: lateness p50 ${l.p50} ms  p95 ${l.p95} ms  p99 ${l.p99} ms  max ${l.max} ms  ` +
      `expired ${result.expired}  missed ${result.missed}  doubled ${result.doubled}  ` +
      `idle Redis cmd/s: schedulers ${result.idleSchedulerCommandsPerSecond.toFixed(1)}, all ${result.idleCommandsPerSecond.toFixed(1)} ` +
      JSON.stringify(result.idleByCommand)
  )
}
const med = (pick: (r: RunResult) => number) => median(results.map(pick))
const summary = {
  p50: med((r) => r.lateness.p50),
  p95: med((r) => r.lateness.p95),
  p99: med((r) => r.lateness.p99),
  max: med((r) => r.lateness.max),
  idleCommandsPerSecond: med((r) => r.idleCommandsPerSecond),
  idleSchedulerCommandsPerSecond: med((r) => r.idleSchedulerCommandsPerSecond),
  missed: results.reduce((n, r) => n + r.missed, 0),
  doubled: results.reduce((n, r) => n + r.doubled, 0)
}
console.log(
  `median of ${runs}: lateness p50 ${summary.p50} ms  p95 ${summary.p95} ms  p99 ${summary.p99} ms  max ${summary.max} ms  ` +
    `idle Redis cmd/s: schedulers ${summary.idleSchedulerCommandsPerSecond.toFixed(1)}, all ${summary.idleCommandsPerSecond.toFixed(1)}  missed ${summary.missed}  doubled ${summary.doubled} (all runs)`
)
const file = await writeReport(path.join(here, "results"), new Date(), {
  bench: "deadlines",
  machine: machineFacts(),
  offered: { sessions: sessionCount, spreadMs, schedulers: 2, shards: SHARDS },
  runs: results,
  median: summary
})
console.log(`report: ${file}`)
process.exit(summary.missed === 0 && summary.doubled === 0 ? 0 : 1)
