import type { SessionEvent, SessionState } from "./types.ts"

/** A server frame the feed acts on; anything else the server sends is ignored, anything broken is `malformed`. */
export type ServerFrame =
  | { readonly type: "CONNECTED" }
  | { readonly type: "STATE_SYNC"; readonly state: SessionState }
  | { readonly type: "STATE_UPDATE"; readonly state: SessionState; readonly event: SessionEvent }
  | { readonly type: "RESUMED"; readonly version: number; readonly lastEventId: string }
  | { readonly type: "SESSION_DELETED"; readonly event: SessionEvent }
  | { readonly type: "PONG"; readonly clientTime: number | undefined; readonly serverTime: number }
  | { readonly type: "ERROR"; readonly code: string; readonly message: string }
  | { readonly type: "ignored" }
  | { readonly type: "malformed"; readonly reason: string }

export const EVENT_ID = /^\d{1,20}-\d{1,20}$/

type Fields = Record<string, unknown>

const isObject = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value)
const isVersion = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 0

const asEvent = (value: unknown): SessionEvent | undefined =>
  isObject(value) && typeof value["id"] === "string" && EVENT_ID.test(value["id"]) && isVersion(value["version"]) &&
    typeof value["type"] === "string"
    ? (value as unknown as SessionEvent)
    : undefined

const asState = (value: unknown): SessionState | undefined =>
  isObject(value) && typeof value["session_id"] === "string" && isVersion(value["version"]) &&
    typeof value["status"] === "string" && Array.isArray(value["participants"]) &&
    typeof value["server_time_ms"] === "number" && typeof value["last_event_id"] === "string"
    ? (value as unknown as SessionState)
    : undefined

const malformed = (reason: string): ServerFrame => ({ type: "malformed", reason })

/** Parses and checks one text frame: a frame whose parts disagree (an update whose state is not its event's) is malformed. */
export const parseFrame = (data: unknown): ServerFrame => {
  if (typeof data !== "string") return malformed("not a text frame")
  let frame: unknown
  try {
    frame = JSON.parse(data)
  } catch {
    return malformed("not JSON")
  }
  if (!isObject(frame)) return malformed("not an object")
  switch (frame["type"]) {
    case "CONNECTED":
      return { type: "CONNECTED" }
    case "STATE_SYNC": {
      const state = asState(frame["state"])
      return state === undefined ? malformed("STATE_SYNC without a state") : { type: "STATE_SYNC", state }
    }
    case "STATE_UPDATE": {
      const state = asState(frame["state"])
      const event = asEvent(frame["event"])
      if (state === undefined || event === undefined) return malformed("STATE_UPDATE without a state and an event")
      if (state.version !== event.version || state.last_event_id !== event.id) return malformed("STATE_UPDATE whose state is not its event's")
      return { type: "STATE_UPDATE", state, event }
    }
    case "RESUMED":
      return isVersion(frame["version"]) && typeof frame["last_event_id"] === "string"
        ? { type: "RESUMED", version: frame["version"], lastEventId: frame["last_event_id"] }
        : malformed("RESUMED without a version")
    case "SESSION_DELETED": {
      const event = asEvent(frame["event"])
      return event === undefined ? malformed("SESSION_DELETED without an event") : { type: "SESSION_DELETED", event }
    }
    case "PONG": {
      const clientTime = frame["client_time"]
      const serverTime = frame["server_time"]
      return typeof serverTime === "number"
        ? { type: "PONG", clientTime: typeof clientTime === "number" ? clientTime : undefined, serverTime }
        : malformed("PONG without server_time")
    }
    case "ERROR":
      return { type: "ERROR", code: String(frame["code"]), message: String(frame["message"]) }
    default:
      return typeof frame["type"] === "string" ? { type: "ignored" } : malformed("no type")
  }
}
