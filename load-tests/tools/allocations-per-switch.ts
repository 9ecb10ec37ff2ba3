/**
 * Bytes allocated per switch on the whole request path of one instance (routing, access control and
 * rate limit, decide, commit, the answer, and the instance reading its own commit back from the shard
 * log), counted by V8's sampling heap profiler with collected objects included. Unlike CPU time it
 * does not depend on what else the machine runs, so two checkouts compare in any sitting: run it in
 * each. Requests go through Fastify's `inject` (no sockets) on a private key prefix of REDIS_URL.
 *
 *   npx tsx load-tests/tools/allocations-per-switch.ts [--switches 3000] [--idempotency-key] [--top 30]
 *
 * `--top n` lists the n places that allocate most (better named when run on a build: the same
 * imports from dist/ with plain node).
 */
import { randomBytes, randomUUID } from "node:crypto"
import { Session } from "node:inspector/promises"
import { parseArgs } from "node:util"
import { ManagedRuntime } from "effect"
import { Redis } from "ioredis"
import { configLayer } from "../../tests/support/settings.ts"
import { buildHttpApp } from "../../src/app/http/app.ts"
import { apiLayer } from "../../src/app/layers.ts"

const { values } = parseArgs({
  options: {
    switches: { type: "string", default: "3000" },
    "idempotency-key": { type: "boolean", default: false },
    top: { type: "string", default: "0" }
  }
})
const switches = Number(values.switches)
const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
const prefix = `skalloc:${randomBytes(4).toString("hex")}:`
const settings = { redisUrl, keyPrefix: prefix, databaseUrl: process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres", logLevel: "warn" as const }
const runtime = ManagedRuntime.make(apiLayer(configLayer(settings)))
const app = await buildHttpApp(runtime, { bodyLimitBytes: 1_048_576, ...settings })

const post = async (url: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) => {
  const reply = await app.inject({ method: "POST", url, payload, headers })
  if (reply.statusCode >= 300) throw new Error(`${url}: ${reply.statusCode} ${reply.body}`)
}
// Twenty sessions of two hour-long clocks, switched in turn: every switch but a session's first is
// decided on the snapshot this instance cached.
const sessions = Array.from({ length: 20 }, () => randomUUID())
for (const id of sessions) {
  const participants = [{ participant_id: randomUUID() }, { participant_id: randomUUID() }]
  await post("/v1/sessions", { session_id: id, sync_mode: "per_participant", participants, total_time_ms: 3_600_000 })
  await post(`/v1/sessions/${id}/start`, {})
}
let sent = 0
const switchAll = async (count: number) => {
  for (let i = 0; i < count; i++) {
    await post(`/v1/sessions/${sessions[i % sessions.length]}/switch`, {}, values["idempotency-key"] ? { "idempotency-key": `k${sent}` } : {})
    sent++
  }
}
await switchAll(1000)

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly selfSize: number
  readonly children: ReadonlyArray<ProfileNode>
}
const inspector = new Session()
inspector.connect()
await inspector.post("HeapProfiler.enable")
await inspector.post("HeapProfiler.startSampling", {
  samplingInterval: 256,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true
})
await switchAll(switches)
const { profile } = await inspector.post("HeapProfiler.stopSampling")
inspector.disconnect()

const byPlace = new Map<string, number>()
let total = 0
const walk = (node: ProfileNode) => {
  total += node.selfSize
  const { functionName, url, lineNumber } = node.callFrame
  const place = `${functionName || "(anonymous)"} ${url.replace(/^.*\/(node_modules|src|dist)\//, "$1/")}:${lineNumber + 1}`
  byPlace.set(place, (byPlace.get(place) ?? 0) + node.selfSize)
  node.children.forEach(walk)
}
walk(profile.head)
console.log(`${switches} switches${values["idempotency-key"] ? " with an Idempotency-Key" : ""}: ${Math.round(total / switches)} B allocated per switch`)
for (const [place, bytes] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`${String(Math.round(bytes / switches)).padStart(8)}  ${place}`)
}

await app.close()
await runtime.dispose()
const redis = new Redis(redisUrl)
for (const pattern of [`${prefix}*`, `ratelimit:${prefix}*`]) {
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", "1000")
    if (keys.length > 0) await redis.unlink(...keys)
    cursor = next
  } while (cursor !== "0")
}
redis.disconnect()
