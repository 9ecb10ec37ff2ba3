import websocket from "@fastify/websocket"
import type { FastifyInstance } from "fastify"
import { WebSocket } from "ws"
import type { AppSettings } from "../AppConfig.ts"
import { credentialOf, rateOf } from "../auth/accessControl.ts"
import { Feed, type FeedDeps, liveRenderer, type Outlet } from "./Feed.ts"
import { makeFrameBudget } from "./frameBudget.ts"
import { startHeartbeat } from "./heartbeat.ts"
import { CloseCode, errorFrame, parseClientMessage, parseSince, pongFrame } from "./protocol.ts"

export type GatewaySettings = Pick<
  AppSettings,
  "wsPingIntervalMs" | "wsSendBufferLimitBytes" | "wsMaxMessageBytes" | "wsMaxInvalidMessages" | "rateLimitTokenRps" | "rateLimitKeyRps"
>

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** On shutdown, how long clients get to answer the close frame before their sockets are cut. */
const CLOSE_HANDSHAKE_MS = 1000

/** The session to follow and where to resume, or why the query is refused. */
const parseQuery = (query: Record<string, unknown>) => {
  const { sessionId } = query
  if (typeof sessionId !== "string" || !UUID.test(sessionId)) return { invalid: "sessionId must be a UUID" }
  if (query["since"] === undefined) return { sessionId, since: undefined }
  const since = parseSince(query["since"])
  return "invalid" in since ? since : { sessionId, since: since.since }
}

/** Frames are text frames, whether handed over as a string or as UTF-8 bytes. */
const TEXT = { binary: false } as const

/** A socket that is closed with 1013 once more than `limit` bytes wait to be sent, instead of buffering on. */
const outletOf = (socket: WebSocket, limit: number, metrics: FeedDeps["metrics"]): Outlet => {
  const close: Outlet["close"] = (code, reason, why) => {
    if (socket.readyState !== WebSocket.OPEN) return
    if (why !== undefined) metrics.closed.inc({ reason: why })
    socket.close(code, reason)
  }
  return {
    send: (frame) => {
      if (socket.readyState !== WebSocket.OPEN) return false
      if (socket.bufferedAmount > limit) {
        close(CloseCode.tryAgainLater, "send buffer full; reconnect with since", "slow_consumer")
        return false
      }
      socket.send(frame, TEXT)
      return true
    },
    close
  }
}

const closeAll = async (sockets: Set<WebSocket>, metrics: FeedDeps["metrics"]) => {
  const closed = [...sockets].map((socket) =>
    new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve()
      socket.once("close", () => resolve())
      metrics.closed.inc({ reason: "shutdown" })
      socket.close(CloseCode.serviceRestart, "server restarting; reconnect with since")
    }))
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_HANDSHAKE_MS).unref())
  await Promise.race([Promise.all(closed), timeout])
  for (const socket of sockets) socket.terminate()
}

/**
 * `GET /ws?sessionId=<uuid>[&since=<event id>][&token=<credential>]`: a session's live feed. Ping
 * frames find dead peers, a full send buffer closes a slow consumer, and on shutdown every socket is
 * closed with 1012 so its client reconnects to another instance (with `since`, losing nothing). Access
 * control has checked the credential at the upgrade; frames beyond the credential's rate count as
 * invalid, so a flooding client is closed with 1008.
 */
export const websocketGateway = (
  deps: Omit<FeedDeps, "renderLive">,
  settings: GatewaySettings
) =>
async (app: FastifyInstance) => {
  const feedDeps: FeedDeps = { ...deps, renderLive: liveRenderer(deps.clock) }
  let closing = false

  // Added before the plugin's own preClose, which would close the sockets without a code.
  app.addHook("preClose", async () => {
    closing = true
    await closeAll(app.websocketServer.clients, deps.metrics)
  })
  await app.register(websocket, {
    options: { maxPayload: settings.wsMaxMessageBytes },
    // Unclean disconnects and oversized frames land here; ws has already closed or is closing the socket.
    errorHandler: (error, socket, request) => {
      request.log.info({ err: error }, "websocket error")
      if (socket.readyState === WebSocket.OPEN) socket.terminate()
    }
  })

  const heartbeat = startHeartbeat(app.websocketServer.clients, settings.wsPingIntervalMs, () =>
    deps.metrics.closed.inc({ reason: "dead_peer" }))
  app.addHook("onClose", async () => heartbeat.stop())

  app.get<{ Querystring: Record<string, unknown> }>("/ws", { websocket: true, config: { action: "follow" } }, (socket, request) => {
    const outlet = outletOf(socket, settings.wsSendBufferLimitBytes, deps.metrics)
    if (closing) return outlet.close(CloseCode.serviceRestart, "server restarting", "shutdown")
    const query = parseQuery(request.query)
    if ("invalid" in query) {
      outlet.send(errorFrame("VALIDATION_ERROR", query.invalid))
      return outlet.close(CloseCode.policyViolation, "invalid request")
    }

    const feed = new Feed(feedDeps, query.sessionId, outlet)
    deps.metrics.connectedSockets.inc()
    socket.once("close", () => {
      deps.metrics.connectedSockets.dec()
      feed.stop()
    })
    socket.on("pong", () => heartbeat.answered(socket))

    let invalidMessages = 0
    const refuse = (code: string, why: string) => {
      outlet.send(errorFrame(code, why))
      if (++invalidMessages >= settings.wsMaxInvalidMessages) {
        outlet.close(CloseCode.policyViolation, "too many invalid messages", "invalid_messages")
      }
    }
    const budget = makeFrameBudget(rateOf(credentialOf(request), settings))
    socket.on("message", (data, isBinary) => {
      if (!budget.take()) return refuse("RATE_LIMITED", "too many frames per second")
      const message = parseClientMessage(data, isBinary)
      if ("invalid" in message) return refuse("INVALID_MESSAGE", message.invalid)
      switch (message.type) {
        case "PING":
          return void outlet.send(pongFrame(message.clientTime, deps.clock.now()))
        case "RESUME":
          return feed.resume(message.since)
        case "RECONNECT":
          return feed.resync()
      }
    })

    feed.start(query.since)
  })
}
