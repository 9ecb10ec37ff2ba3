/**
 * The machine's floor for the fan-out bench: `npm run bench:ws -- --server floor` runs the same
 * scenario (load-tests/ws-fanout.js) against two of these instead of two SyncKairos instances. It makes the same hops with
 * the least code that can make them, so the gap between the two results is what the service itself
 * costs, and what is left is what the box costs:
 *
 *   client -> HTTP -> one Redis script per command (version++, snapshot, XADD to the shard log,
 *             SPUBLISH of the entry on the shard's feed channel)
 *          -> every instance receives the shard feeds (one sharded pub/sub connection)
 *          -> WebSocket frames of the same size as the service's to the session's sockets.
 *
 * Versus the service it leaves out: the load round trip before a commit that the service cannot
 * decide on its cached snapshot, the session stream, TTLs, deadlines, idempotency, validation, the
 * domain, the chaining of feed messages and the log reads that fill a gap, Effect, Fastify, metrics
 * and heartbeats. Plain JavaScript, run by node as it is (nothing to build).
 *
 * It answers what ws-fanout.js sends: create (201), start and switch (200), GET (the version), DELETE
 * (204), /ready, and the /ws feed (STATE_SYNC, then STATE_UPDATE).
 *
 * Environment: PORT, HOST, REDIS_URL, REDIS_KEY_PREFIX (as the service reads them).
 */
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import { Redis } from "ioredis"
import { WebSocketServer } from "ws"

const SHARDS = 16
const prefix = process.env.REDIS_KEY_PREFIX ?? "skfloor:"
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const redis = new Redis(redisUrl)

// A stand-in for a two-participant snapshot: the service's STATE_UPDATE frames are ~1.5 KB.
const STATE = JSON.stringify({ filler: "x".repeat(1200) })

const logOf = (shard) => `${prefix}{${shard}}:log`
const feedOf = (shard) => `${prefix}{${shard}}:feed`
const shardOf = (sessionId) => parseInt(sessionId.slice(0, 4), 16) % SHARDS
const keys = (sessionId) => {
  const shard = shardOf(sessionId)
  return { snapshot: `${prefix}{${shard}}:s:${sessionId}`, log: logOf(shard), feed: feedOf(shard) }
}

redis.defineCommand("floorCommit", { numberOfKeys: 3, lua: readFileSync(new URL("commit.lua", import.meta.url), "utf8") })

const bySession = new Map()

const commit = async (sessionId) => {
  const { snapshot, log, feed } = keys(sessionId)
  const [version, id] = await redis.floorCommit(snapshot, log, feed, sessionId, STATE)
  return { version, id }
}

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
      if (url.pathname === "/ready") return json(res, 200, {})
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
  const frame = `{"type":"STATE_UPDATE","sessionId":"${sessionId}","state":${state},"event":{"id":"${id}","version":${version}}}`
  for (const socket of sockets) socket.send(frame)
})
await feeds.ssubscribe(...Array.from({ length: SHARDS }, (_, shard) => feedOf(shard)))

const stop = () => {
  for (const socket of wss.clients) socket.terminate()
  server.close(() => process.exit(0))
  redis.disconnect()
  feeds.disconnect()
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
// A deep accept queue, as the kernel allows: thousands of sockets connect at once.
server.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? "127.0.0.1", backlog: 4096 })
