/**
 * Runs the k6 switch script (switch.js) against 1, 2 or 3 instances on one Redis node and on a Redis
 * Cluster of three masters, every Redis started here, and prints a table of medians per setup.
 * After each setup it checks that no switch was lost or applied twice (every session's version is
 * 2 + the switches k6 saw answered 2xx) and counts the keys on every master.
 *
 *   npm run build && npx tsx load-tests/k6-cluster.ts --k6 /path/to/k6 [--runs 3] [--rate 1000]
 *     [--duration 20s] [--topologies node,cluster] [--instances 1,2,3]
 *
 * Results: load-tests/results/k6-cluster/<iso date>.json. The exit code is non-zero if any switch
 * failed, any iteration was dropped, or a version check failed.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify, parseArgs } from "node:util"
import { Redis } from "ioredis"
import { type RedisCluster, startRedisCluster } from "../tests/support/redisCluster.ts"
import { freePort, type RunningService, startService } from "./harness/service.ts"

const execFileAsync = promisify(execFile)
const root = path.resolve(import.meta.dirname, "..")

const { values } = parseArgs({
  options: {
    k6: { type: "string", default: process.env["K6"] ?? "k6" },
    runs: { type: "string", default: "3" },
    rate: { type: "string", default: "1000" },
    duration: { type: "string", default: "20s" },
    topologies: { type: "string", default: "node,cluster" },
    instances: { type: "string", default: "1,2,3" }
  }
})

type Topology = "node" | "cluster"

interface Redises {
  readonly env: Record<string, string>
  /** `host:port` of every master, with a connection to it. */
  readonly masters: ReadonlyArray<{ readonly name: string; readonly client: Redis }>
  readonly stop: () => Promise<void>
}

const startNode = async (): Promise<Redises> => {
  const port = await freePort()
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore"
  })
  const client = new Redis(port, "127.0.0.1", { retryStrategy: () => 50 })
  client.on("error", () => {
    // Refused until the server listens; the ping below waits for it.
  })
  await client.ping()
  return {
    env: { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CLUSTER_NODES: "" },
    masters: [{ name: `127.0.0.1:${port}`, client }],
    stop: async () => {
      client.disconnect()
      child.kill("SIGKILL")
    }
  }
}

const startCluster = async (): Promise<Redises> => {
  const cluster: RedisCluster = await startRedisCluster({ masters: 3 })
  const masters = (await cluster.nodes()).filter((node) => node.role === "master")
  return {
    env: { REDIS_URL: "", REDIS_CLUSTER_NODES: cluster.seedList },
    masters: masters.map((node) => ({ name: `127.0.0.1:${node.port}`, client: new Redis(node.port, "127.0.0.1") })),
    stop: async () => {
      await cluster.stop()
    }
  }
}

const scanAll = async (client: Redis, pattern: string): Promise<Array<string>> => {
  const keys: Array<string> = []
  let cursor = "0"
  do {
    const [next, batch] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000)
    keys.push(...batch)
    cursor = next
  } while (cursor !== "0")
  return keys
}

/** Sum over every session under `prefix` of (version - 2): the switches applied after create and start. */
const switchesApplied = async (redises: Redises, prefix: string) => {
  let applied = 0
  for (const { client } of redises.masters) {
    const snapshots = await scanAll(client, `${prefix}{*}:snap:*`)
    // One key per call: on a cluster the snapshots of a master live in many slots.
    const versions = await Promise.all(snapshots.map((key) => client.hget(key, "v")))
    applied += versions.reduce((sum, version) => sum + Number(version) - 2, 0)
  }
  return applied
}

interface K6Run {
  readonly ok: number
  readonly failed: number
  readonly dropped: number
  readonly rps: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  /** The first failed switches as switch.js logged them. */
  readonly failures: ReadonlyArray<string>
}

const durationSeconds = (() => {
  const match = /^(\d+)(s|m)$/.exec(values.duration)
  if (match === null) throw new Error(`--duration must be like 20s or 2m: ${values.duration}`)
  return Number(match[1]) * (match[2] === "m" ? 60 : 1)
})()

const runK6 = async (urls: ReadonlyArray<string>): Promise<K6Run> => {
  const summary = path.join(tmpdir(), `k6-${randomBytes(4).toString("hex")}.json`)
  const args = [
    "run", "--quiet", "--summary-export", summary,
    "-e", `BASE_URLS=${urls.join(",")}`, "-e", `RATE=${values.rate}`, "-e", `DURATION=${values.duration}`,
    "-e", "KEEP_SESSIONS=1", "-e", "P95_MS=1000", "-e", "P99_MS=1000",
    path.join(root, "load-tests/switch.js")
  ]
  // Thresholds only fail the run with a non-zero exit: the numbers are read from the summary.
  const output = await execFileAsync(values.k6, args, { maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stderr }) => stderr,
    (error: { stderr?: string }) => error.stderr ?? ""
  )
  // switch.js logs its first failed switches with the status they answered.
  const failures = output.split("\n").filter((line) => /answered/.test(line)).map((line) => /switch \S+ answered .*/.exec(line)?.[0] ?? line)
  const metrics = JSON.parse(await readFile(summary, "utf8")).metrics as Record<string, Record<string, number>>
  const duration = metrics["http_req_duration{name:switch}"] ?? {}
  // A rate's `passes` are the requests that failed, its `fails` those that did not.
  const outcomes = metrics["http_req_failed{name:switch}"] ?? {}
  const failed = outcomes["passes"] ?? 0
  const ok = outcomes["fails"] ?? 0
  return {
    ok,
    failed,
    dropped: metrics["dropped_iterations"]?.["count"] ?? 0,
    rps: (ok + failed) / durationSeconds,
    p50: duration["med"] ?? NaN,
    p95: duration["p(95)"] ?? NaN,
    p99: duration["p(99)"] ?? NaN,
    failures
  }
}

const median = (numbers: ReadonlyArray<number>) => [...numbers].sort((x, y) => x - y)[Math.floor(numbers.length / 2)]!

interface Row {
  readonly topology: Topology
  readonly instances: number
  readonly runs: ReadonlyArray<K6Run>
  readonly applied: number
  readonly acknowledged: number
  readonly keysPerMaster: Record<string, number>
}

const measure = async (topology: Topology, instanceCounts: ReadonlyArray<number>): Promise<Array<Row>> => {
  const redises = topology === "node" ? await startNode() : await startCluster()
  const rows: Array<Row> = []
  try {
    for (const count of instanceCounts) {
      const prefix = `skk6:${randomBytes(4).toString("hex")}:`
      const env = { ...redises.env, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn" }
      const instances: Array<RunningService> = []
      try {
        for (let i = 0; i < count; i++) instances.push(await startService({ cwd: root, env, role: "api", readyTimeoutMs: 60_000 }))
        const runs: Array<K6Run> = []
        for (let run = 0; run < Number(values.runs); run++) {
          runs.push(await runK6(instances.map((instance) => instance.origin)))
          const last = runs.at(-1)!
          console.log(`${topology} x${count} run ${run + 1}: ${last.ok} ok, ${last.failed} failed, p50 ${last.p50.toFixed(2)} p95 ${last.p95.toFixed(2)} p99 ${last.p99.toFixed(2)} ms`)
          for (const failure of last.failures) console.log(`  ${failure}`)
        }
        const keysPerMaster: Record<string, number> = {}
        for (const master of redises.masters) keysPerMaster[master.name] = (await scanAll(master.client, `${prefix}*`)).length
        rows.push({
          topology,
          instances: count,
          runs,
          applied: await switchesApplied(redises, prefix),
          acknowledged: runs.reduce((sum, run) => sum + run.ok, 0),
          keysPerMaster
        })
      } finally {
        await Promise.all(instances.map((instance) => instance.stop()))
      }
    }
  } finally {
    for (const master of redises.masters) master.client.disconnect()
    await redises.stop()
  }
  return rows
}

const rows: Array<Row> = []
for (const topology of values.topologies.split(",") as Array<Topology>) {
  rows.push(...await measure(topology, values.instances.split(",").map(Number)))
}

const load = await readFile("/proc/loadavg", "utf8")
console.log(`\nk6 switch.js, ${values.rate}/s for ${values.duration}, ${values.runs} runs each (medians); load average after: ${load.split(" ").slice(0, 3).join(" ")}`)
console.log("| Redis | instances | switches/s | p50 ms | p95 ms | p99 ms | failed | dropped | lost or doubled | keys per master |")
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for (const row of rows) {
  const m = (pick: (run: K6Run) => number, digits = 2) => median(row.runs.map(pick)).toFixed(digits)
  console.log(
    `| ${row.topology === "node" ? "1 node" : "cluster, 3 masters"} | ${row.instances} | ${m((r) => r.rps, 0)} | ${m((r) => r.p50)} | ${m((r) => r.p95)} | ` +
      `${m((r) => r.p99)} | ${row.runs.reduce((s, r) => s + r.failed, 0)} | ${row.runs.reduce((s, r) => s + r.dropped, 0)} | ` +
      `${row.applied - row.acknowledged} | ${Object.values(row.keysPerMaster).join(" / ")} |`
  )
}
const directory = path.join(root, "load-tests/results/k6-cluster")
await mkdir(directory, { recursive: true })
await writeFile(path.join(directory, `${new Date().toISOString()}.json`), JSON.stringify({ options: values, load, rows }, null, 2))
const bad = rows.some((row) => row.applied !== row.acknowledged || row.runs.some((run) => run.failed > 0 || run.dropped > 0))
process.exit(bad ? 1 : 0)
