/**
 * The machine's floor for the fan-out bench: `npm run bench:ws -- --server floor` runs the same
 * scenario (load-tests/ws-fanout.js) against two of these instead of two SyncKairos instances. It makes the same hops with
 * the least code that can make them, so the gap between the two results is what the service itself
 * costs, and what is left is what the box costs:
 *
 *   client -> HTTP -> one Redis script per command (version++, snapshot, XADD to the shard log,
 *             SPUBLISH of the entry on the shard's feed channel)
 *          -> every instance receives the shard feeds (one sharded pub/sub connection)
 *          -> WebSocket frames of the same size and shape as the service's to the session's sockets.
 *
 * Versus the service it leaves out: the load round trip before a commit that the service cannot
 * decide on its cached snapshot, the session stream, TTLs, deadlines, idempotency, validation, the
 * domain, the chaining of feed messages and the log reads that fill a gap, Effect, Fastify, metrics
 * and heartbeats. Plain JavaScript, run by node as it is (nothing to build).
 *
 * It answers what ws-fanout.js sends: create (201), start and switch (200), GET (the version), DELETE
 * (204), /ready, and the /ws feed (STATE_SYNC, then STATE_UPDATE).
 *
 * With FLOOR_AUDIT=1 it also keeps the least audit (./audit.mjs) in DATABASE_URL, and /ready reports
 * its backlog as the service's does: the floor of the whole system as deployed (`bench:system
 * --floor-audit`).
 *
 * Environment: PORT, HOST, REDIS_URL, REDIS_KEY_PREFIX, DATABASE_URL (as the service reads them),
 * FLOOR_AUDIT.
 */
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import { Redis } from "ioredis"
import { WebSocketServer } from "ws"
import { startFloorAudit } from "./audit.mjs"

const SHARDS = 16
const prefix = process.env.REDIS_KEY_PREFIX ?? "skfloor:"
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const redis = new Redis(redisUrl)

// Stand-ins for a two-participant session's state and a switch's event, fixed, in the shape and size of
// the service's STATE_UPDATE (~1.5 KB): the clients parse every frame, and on a shared machine a
// frame cheaper to parse (a flat filler string) would leave the servers more CPU than the service's.
const PARTICIPANT_A = "9a1c3b9e-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
const PARTICIPANT_B = "8b2c3b9e-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
const AT = "2026-12-03T07:43:40.412Z"
const STATE = JSON.stringify({
  session_id: "4f0c3b9e-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
  sync_mode: "per_participant",
  status: "running",
  version: 3,
  participants: [
    { participant_id: PARTICIPANT_A, participant_index: 0, total_time_ms: 86_398_010, time_used_ms: 1990, time_remaining_ms: 86_398_010, cycle_count: 1, is_active: false, has_expired: false },
    { participant_id: PARTICIPANT_B, participant_index: 1, total_time_ms: 86_400_000, time_used_ms: 3, time_remaining_ms: 86_399_997, cycle_count: 0, is_active: true, has_expired: false }
  ],
  active_participant_id: PARTICIPANT_B,
  total_time_ms: 86_400_000,
  time_per_cycle_ms: null,
  cycle_started_at: AT,
  session_started_at: AT,
  session_completed_at: null,
  increment_ms: 0,
  created_at: AT,
  updated_at: AT,
  action_on_timeout: "end_session",
  auto_advance: false,
  timeout_warnings_ms: [],
  time_remaining_ms: 86_399_997,
  deadline_at: AT,
  server_time_ms: 1_796_283_820_415,
  last_event_id: "1796283820412-0"
})
const EVENT_FIELDS = `"type":"CYCLE_SWITCHED","at":"${AT}","at_ms":1796283820412,"payload":${
  JSON.stringify({ from_participant_id: PARTICIPANT_A, to_participant_id: PARTICIPANT_B, increment_ms: 0 })
}`

const logOf = (shard) => `${prefix}{${shard}}:log`
const feedOf = (shard) => `${prefix}{${shard}}:feed`
const shardOf = (sessionId) => parseInt(sessionId.slice(0, 4), 16) % SHARDS
const keys = (sessionId) => {
  const shard = shardOf(sessionId)
  return { snapshot: `${prefix}{${shard}}:s:${sessionId}`, log: logOf(shard), feed: feedOf(shard) }
}

redis.defineCommand("floorCommit", { numberOfKeys: 3, lua: readFileSync(new URL("commit.lua", import.meta.url), "utf8") })

const bySession = new Map()

let committed = 0
const commit = async (sessionId) => {
  const { snapshot, log, feed } = keys(sessionId)
  const [version, id] = await redis.floorCommit(snapshot, log, feed, sessionId, STATE)
  committed++
  return { version, id }
}

const audit = process.env.FLOOR_AUDIT === "1"
  ? await startFloorAudit({
    redis,
    databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/synckairos",
    logs: Array.from({ length: SHARDS }, (_, shard) => logOf(shard)),
    eventPayload: `{${EVENT_FIELDS}}`
  })
  : null
/** /ready as the service answers it, as far as the bench reads it: the audit's backlog once there is one. */
const readiness = () =>
  audit === null ? {} : { checks: { postgres: "ok", audit: { backlog: committed - audit.written(), queued_jobs: 0 } } }

const json = (res, status, body) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://floor")
  const parts = url.pathname.split("/").filter(Boolean)
  let body = ""
  req.setEncoding("utf8")
  req.on("data", (chunk) => (body += chunk))
  req.on("end", async () => {
    try {
      if (url.pathname === "/ready") return json(res, 200, readiness())
      if (req.method === "POST" && url.pathname === "/v1/sessions") {
        const { version } = await commit(JSON.parse(body).session_id)
        return json(res, 201, { data: { version, state: STATE } })
      }
      if (parts[0] === "v1" && parts[1] === "sessions" && parts[2] !== undefined) {
        if (req.method === "POST" && parts.length === 4) {
          const { version, id } = await commit(parts[2])
          return json(res, 200, { data: { version, last_event_id: id, state: STATE } })
        }
        if (req.method === "GET") {
          const version = Number(await redis.hget(keys(parts[2]).snapshot, "v"))
          return json(res, 200, { data: { version } })
        }
        if (req.method === "DELETE" && parts.length === 3) {
          await redis.del(keys(parts[2]).snapshot)
          res.writeHead(204)
          return res.end()
        }
      }
      json(res, 404, { error: { code: "NOT_FOUND" } })
    } catch (error) {
      json(res, 500, { error: { code: "INTERNAL", message: String(error) } })
    }
  })
})

const wss = new WebSocketServer({ server, path: "/ws", perMessageDeflate: false })
wss.on("connection", async (socket, req) => {
  const sessionId = new URL(req.url, "http://floor").searchParams.get("sessionId") ?? ""
  let sockets = bySession.get(sessionId)
  if (sockets === undefined) bySession.set(sessionId, (sockets = new Set()))
  sockets.add(socket)
  socket.on("close", () => sockets.delete(socket))
  const version = Number(await redis.hget(keys(sessionId).snapshot, "v"))
  socket.send(JSON.stringify({ type: "STATE_SYNC", sessionId, version }))
})

const feeds = redis.duplicate()
feeds.on("smessage", (_channel, message) => {
  const [id, sessionId, version, state] = JSON.parse(message)
  const sockets = bySession.get(sessionId)
  if (sockets === undefined) return
  const frame = `{"type":"STATE_UPDATE","sessionId":"${sessionId}","timestamp":${Date.now()},"state":${state},"event":{"id":"${id}","version":${version},${EVENT_FIELDS}}}`
  for (const socket of sockets) socket.send(frame)
})
await feeds.ssubscribe(...Array.from({ length: SHARDS }, (_, shard) => feedOf(shard)))

const stop = () => {
  for (const socket of wss.clients) socket.terminate()
  server.close(() => process.exit(0))
  void audit?.stop()
  redis.disconnect()
  feeds.disconnect()
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
// A deep accept queue, as the kernel allows: thousands of sockets connect at once.
server.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? "127.0.0.1", backlog: 4096 })
