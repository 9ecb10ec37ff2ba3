/**
 * Redis memory of live sessions, measured on real keys: starts a redis-server and one instance of
 * its own, creates and starts `--sessions` sessions (two participants of an hour) with
 * `--switches` switches each, then reports MEMORY USAGE of each kind of key and used_memory per
 * session and per event, for the capacity model in docs/scaling.md.
 *
 *   npm run build && npx tsx load-tests/tools/memory-per-session.ts [--sessions 2000] [--switches 10]
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import path from "node:path"
import { parseArgs } from "node:util"
import { Redis } from "ioredis"
import { parseInfo } from "../harness/redis.ts"
import { freePort, startService } from "../harness/service.ts"

const { values } = parseArgs({ options: { sessions: { type: "string", default: "2000" }, switches: { type: "string", default: "10" } } })
const sessions = Number(values.sessions)
const switches = Number(values.switches)
const root = path.resolve(import.meta.dirname, "../..")

const port = await freePort()
const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" })
const redis = new Redis(port, "127.0.0.1", { retryStrategy: () => 50 })
redis.on("error", () => {
  // Refused until the server listens; the first command waits for it.
})
const prefix = "skmem:"
const service = await startService({
  cwd: root,
  env: { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn" },
  role: "api",
  readyTimeoutMs: 60_000
})

const post = async (url: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${service.origin}${url}`, {
    method: "POST",
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  await response.arrayBuffer()
  if (!response.ok) throw new Error(`${url}: ${response.status}`)
}

const usedMemory = async () => Number(parseInfo(await redis.info("memory"))["used_memory"])
const memoryOf = async (pattern: string) => {
  const keys = (await redis.keys(pattern)).slice(0, 200)
  const sizes = await Promise.all(keys.map((key) => redis.memory("USAGE", key, "SAMPLES", 0)))
  return { keys: keys.length, bytes: Math.round(sizes.reduce((sum: number, size) => sum + Number(size), 0) / Math.max(1, keys.length)) }
}

try {
  const before = await usedMemory()
  const ids = Array.from({ length: sessions }, () => randomUUID())
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < ids.length) {
      const id = ids[next++]!
      await post("/v1/sessions", {
        session_id: id,
        sync_mode: "per_participant",
        total_time_ms: 3_600_000,
        participants: [{ participant_id: randomUUID() }, { participant_id: randomUUID() }]
      })
      await post(`/v1/sessions/${id}/start`)
      for (let i = 0; i < switches; i++) await post(`/v1/sessions/${id}/switch`, undefined, i === 0 ? { "idempotency-key": `k-${id}` } : {})
    }
  }))
  const after = await usedMemory()
  const events = sessions * (2 + switches)
  const logEntries = (await redis.keys(`${prefix}{*}:log`)).length === 0
    ? 0
    : (await Promise.all((await redis.keys(`${prefix}{*}:log`)).map((key) => redis.xlen(key)))).reduce((x, y) => x + y, 0)
  const logBytes = (await Promise.all((await redis.keys(`${prefix}{*}:log`)).map((key) => redis.memory("USAGE", key, "SAMPLES", 0))))
    .reduce((sum: number, size) => sum + Number(size), 0)
  const report = {
    sessions,
    eventsPerSession: 2 + switches,
    usedMemoryPerSessionBytes: Math.round((after - before) / sessions),
    usedMemoryPerEventBytes: Math.round((after - before) / events),
    snapshot: await memoryOf(`${prefix}{*}:snap:*`),
    sessionIndex: await memoryOf(`${prefix}{*}:index:*`),
    idempotencyRecord: await memoryOf(`${prefix}{*}:idem:*`),
    deadlineIndexPerSession: Math.round(
      (await Promise.all((await redis.keys(`${prefix}{*}:deadlines`)).map((key) => redis.memory("USAGE", key, "SAMPLES", 0))))
        .reduce((sum: number, size) => sum + Number(size), 0) / sessions
    ),
    shardLogPerEntry: Math.round(logBytes / Math.max(1, logEntries)),
    commandsPerSwitch: await commandsPerSwitch(ids[0]!)
  }
  console.log(JSON.stringify(report, null, 2))
} finally {
  await service.stop()
  redis.disconnect()
  server.kill("SIGKILL")
}

/** Redis commands one switch costs, from INFO commandstats around 100 switches of one session. */
async function commandsPerSwitch(id: string) {
  const calls = async () => {
    const stats = parseInfo(await redis.info("commandstats"))
    return Object.fromEntries(Object.entries(stats).map(([name, text]) => [name.replace("cmdstat_", ""), Number(/calls=(\d+)/.exec(text)?.[1])]))
  }
  const start = await calls()
  for (let i = 0; i < 100; i++) await post(`/v1/sessions/${id}/switch`)
  const end = await calls()
  return Object.fromEntries(
    Object.entries(end)
      .map(([name, count]) => [name, (count - (start[name] ?? 0)) / 100] as const)
      .filter(([, perSwitch]) => perSwitch > 0)
  )
}
