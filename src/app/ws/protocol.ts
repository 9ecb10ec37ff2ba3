/**
 * The WebSocket wire format. Server frames keep the v2 fields (`type`, `sessionId`, `timestamp`,
 * `state`) so a v2 client keeps working; everything else (`event`, `version`, `last_event_id`,
 * `RESUMED`, `client_time`/`server_time`) is additive. States and events have the HTTP shapes.
 */
import type { RawData } from "ws"
import type { SessionState } from "../../domain/index.ts"
import { eventView, sessionView } from "../http/views.ts"

/** Close codes (RFC 6455 §7.4.1) the gateway uses. */
export const CloseCode = {
  normal: 1000,
  policyViolation: 1008,
  internalError: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013
} as const

/** One event as the shard log carries it. */
export interface WireEvent {
  readonly id: string
  readonly type: string
  readonly version: number
  readonly at: number
  readonly payload: string
}

/** An event id (a Redis stream id), `<ms>-<seq>`. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/

/** The event id a client resumes after (the connection's query or a RESUME frame), or why it is refused. */
export const parseSince = (value: unknown): { readonly since: string } | { readonly invalid: string } =>
  typeof value === "string" && STREAM_ID.test(value) ? { since: value } : { invalid: "since must be an event id such as 1795305919821-0" }

const stateOf = (state: SessionState, lastEventId: string, now: number) => {
  // The view is made for this frame: adding the field saves copying the whole view.
  const view = sessionView(state, now)
  view["last_event_id"] = lastEventId
  return view
}

export const connectedFrame = (sessionId: string, now: number) =>
  JSON.stringify({ type: "CONNECTED", sessionId, timestamp: now, server_time_ms: now })

/** The full state; `resumed: false` tells a client that asked for `since` that it starts over from here. */
export const stateSyncFrame = (sessionId: string, state: SessionState, lastEventId: string, now: number) =>
  JSON.stringify({
    type: "STATE_SYNC",
    sessionId,
    timestamp: now,
    state: stateOf(state, lastEventId, now),
    version: state.version,
    last_event_id: lastEventId,
    resumed: false
  })

export const stateUpdateFrame = (sessionId: string, state: SessionState, event: WireEvent, now: number) =>
  JSON.stringify({
    type: "STATE_UPDATE",
    sessionId,
    timestamp: now,
    state: stateOf(state, event.id, now),
    event: eventView(event)
  })

export const sessionDeletedFrame = (sessionId: string, event: WireEvent, now: number) =>
  JSON.stringify({ type: "SESSION_DELETED", sessionId, timestamp: now, event: eventView(event) })

/** Sent after the events replayed for `since`: from here on the feed is live. */
export const resumedFrame = (
  sessionId: string,
  resume: { readonly since: string; readonly replayed: number; readonly version: number; readonly lastEventId: string },
  now: number
) =>
  JSON.stringify({
    type: "RESUMED",
    sessionId,
    timestamp: now,
    since: resume.since,
    replayed: resume.replayed,
    version: resume.version,
    last_event_id: resume.lastEventId
  })

export const pongFrame = (clientTime: number | undefined, now: number) =>
  JSON.stringify({ type: "PONG", ...(clientTime === undefined ? {} : { client_time: clientTime }), server_time: now, timestamp: now })

export const errorFrame = (code: string, message: string) => JSON.stringify({ type: "ERROR", code, message })

export type ClientMessage =
  | { readonly type: "PING"; readonly clientTime: number | undefined }
  | { readonly type: "RESUME"; readonly since: string }
  /** v2: start over with a fresh STATE_SYNC. */
  | { readonly type: "RECONNECT" }

/** A client frame, or why it is refused. */
export const parseClientMessage = (data: RawData, isBinary: boolean): ClientMessage | { readonly invalid: string } => {
  if (isBinary) return { invalid: "frames must be JSON text" }
  let message: unknown
  try {
    message = JSON.parse(String(data))
  } catch {
    return { invalid: "the frame is not valid JSON" }
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) return { invalid: "a message is a JSON object with a type" }
  const fields = message as Record<string, unknown>
  switch (fields["type"]) {
    case "PING": {
      const clientTime = fields["client_time"]
      if (clientTime === undefined || (typeof clientTime === "number" && Number.isFinite(clientTime))) {
        return { type: "PING", clientTime }
      }
      return { invalid: "client_time must be a number (epoch ms)" }
    }
    case "RESUME": {
      const since = parseSince(fields["since"])
      return "invalid" in since ? since : { type: "RESUME", since: since.since }
    }
    case "RECONNECT":
      return { type: "RECONNECT" }
    default:
      return { invalid: "type must be PING, RESUME or RECONNECT" }
  }
}
