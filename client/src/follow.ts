import { Backoff, type BackoffOptions } from "./backoff.ts"
import type { ClockEstimator } from "./clock.ts"
import { SyncKairosError } from "./errors.ts"
import { parseFrame, type ServerFrame } from "./frames.ts"
import { type Credentials, type Endpoints, resolveCredential } from "./http.ts"
import type { SessionEvent, SessionState } from "./types.ts"

/**
 * What the feed's socket is doing. `connecting` until the first state arrives, `live` while frames
 * flow, `reconnecting` from a lost socket until the next one has caught up, `closed` for good (the
 * session was deleted, the server refused the feed, or `close()` was called).
 */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "closed"

export type StateChange = { readonly kind: "sync" } | { readonly kind: "event"; readonly event: SessionEvent }

export interface FollowHandlers {
  /** Every new state, once, in version order: a full state (`sync`) or the state after one event. */
  readonly onState?: (state: SessionState, change: StateChange) => void
  readonly onConnection?: (connection: ConnectionState) => void
  readonly onDeleted?: (event: SessionEvent) => void
  /** A refusal that ends the feed (`SESSION_NOT_FOUND`, `VALIDATION_ERROR`, an invalid token, …). */
  readonly onError?: (error: SyncKairosError) => void
}

export interface FollowOptions {
  readonly backoff?: BackoffOptions
  /** Clock samples taken one after another when a socket opens. */
  readonly burstSamples?: number
  /** One clock sample this often afterwards; a PING unanswered for `pongTimeoutMs` drops the socket. */
  readonly pingIntervalMs?: number
  readonly pongTimeoutMs?: number
  /** A resynchronization (after a gap or a malformed frame) not answered within this drops the socket. */
  readonly resyncTimeoutMs?: number
}

/** The few members of a WebSocket the feed uses: the browser's and the `ws` package's both have them. */
interface Socket {
  readonly readyState: number
  onopen: (() => void) | null
  onmessage: ((event: { readonly data: unknown }) => void) | null
  onclose: ((event: { readonly code: number }) => void) | null
  onerror: (() => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

/** A WebSocket class: `globalThis.WebSocket` in browsers and Node 22+, `WebSocket` from `ws` on Node 20. */
export type WebSocketClass = new (url: string) => object

const OPEN = 1
/** The server will not serve this feed again: the session was deleted (1000) or the request refused (1008). */
const FINAL_CLOSE_CODES = new Set([1000, 1008])
/** Our own closes of a socket we gave up on (no pong, no answer to a resync): reconnect. */
const DROPPED = 4000

type Timer = ReturnType<typeof setTimeout>

export interface FeedDeps {
  readonly endpoints: Endpoints
  readonly credentials: Credentials
  readonly clock: ClockEstimator
  readonly WebSocket: WebSocketClass
}

/**
 * One session followed over one WebSocket at a time. It hands each state on once, in version order:
 * a repeated event is dropped, and a gap, a malformed frame or an out-of-order one makes it ask the
 * server to resume from the last event it has (or for a fresh STATE_SYNC) instead of showing it. A
 * lost socket comes back after a backoff with jitter, on the next endpoint, with `since` = the last
 * event id, so nothing is missed or shown twice. PING/PONG samples feed the server-clock estimate.
 */
export class SessionFeed {
  private socket: Socket | undefined
  private current: SessionState | undefined
  private lastVersion = -1
  private lastEventId: string | undefined
  private connectionState: ConnectionState = "connecting"
  private resyncing = false
  private refusal: SyncKairosError | undefined
  private burstLeft = 0
  private readonly backoff: Backoff
  private readonly timers = new Set<Timer>()
  private pongTimer: Timer | undefined
  private resyncTimer: Timer | undefined

  constructor(
    private readonly deps: FeedDeps,
    readonly sessionId: string,
    private readonly handlers: FollowHandlers,
    private readonly options: FollowOptions = {}
  ) {
    this.backoff = new Backoff(options.backoff)
    void this.open()
  }

  /** The latest state, once the first one arrived. */
  get state(): SessionState | undefined {
    return this.current
  }

  get connection(): ConnectionState {
    return this.connectionState
  }

  /** Stops following: closes the socket and every timer; no handler is called after. */
  close(): void {
    this.setConnection("closed")
    this.clearTimers()
    const socket = this.socket
    this.socket = undefined
    if (socket !== undefined) this.detach(socket).close(1000, "client closed")
  }

  private async open(): Promise<void> {
    const url = this.deps.endpoints.current
    let credential: string | undefined
    try {
      credential = await resolveCredential(this.deps.credentials)
    } catch {
      return this.lost(url)
    }
    if (this.connectionState === "closed") return
    this.refusal = undefined
    const query = new URLSearchParams({ sessionId: this.sessionId })
    if (this.lastEventId !== undefined) query.set("since", this.lastEventId)
    if (credential !== undefined) query.set("token", credential)
    let socket: Socket
    try {
      socket = new this.deps.WebSocket(`${url.replace(/^http/, "ws")}/ws?${query}`) as Socket
    } catch {
      return this.lost(url)
    }
    this.socket = socket
    socket.onopen = () => this.startClockSync()
    socket.onmessage = ({ data }) => this.onFrame(parseFrame(data))
    socket.onerror = () => undefined // the close that follows says what happened
    socket.onclose = ({ code }) => {
      if (this.socket !== socket) return
      this.socket = undefined
      this.clearTimers()
      if (FINAL_CLOSE_CODES.has(code)) return this.finish()
      this.lost(url)
    }
  }

  private lost(url: string): void {
    if (this.connectionState === "closed") return
    this.setConnection(this.current === undefined ? "connecting" : "reconnecting")
    this.deps.endpoints.failed(url)
    this.later(this.backoff.next(), () => void this.open())
  }

  private finish(): void {
    if (this.connectionState === "closed") return
    this.setConnection("closed")
    if (this.refusal !== undefined) this.handlers.onError?.(this.refusal)
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "STATE_SYNC":
        this.lastVersion = frame.state.version
        this.lastEventId = frame.state.last_event_id === "" ? undefined : frame.state.last_event_id
        this.caughtUp()
        return this.emit(frame.state, { kind: "sync" })
      case "STATE_UPDATE":
        return this.onUpdate(frame.state, frame.event)
      case "RESUMED":
        // The server says the replay ended at a version this feed has not reached: start over from a full state.
        if (frame.version > this.lastVersion) return this.resync(true)
        return this.caughtUp()
      case "SESSION_DELETED":
        this.handlers.onDeleted?.(frame.event)
        return this.close()
      case "PONG":
        return this.onPong(frame.clientTime, frame.serverTime)
      case "ERROR":
        if (frame.code !== "INVALID_MESSAGE") this.refusal = new SyncKairosError(frame.code, frame.message)
        return
      case "malformed":
        return this.resync(false)
      case "CONNECTED":
      case "ignored":
        return
    }
  }

  private onUpdate(state: SessionState, event: SessionEvent): void {
    if (this.lastVersion < 0 || event.version <= this.lastVersion) return // before any state, or seen already
    if (event.version !== this.lastVersion + 1) return this.resync(false)
    this.lastVersion = event.version
    this.lastEventId = event.id
    this.emit(state, { kind: "event", event })
  }

  private emit(state: SessionState, change: StateChange): void {
    this.current = state
    this.handlers.onState?.(state, change)
  }

  private caughtUp(): void {
    this.resyncing = false
    this.cancel(this.resyncTimer)
    this.backoff.reset()
    this.setConnection("live")
  }

  /** Asks for what this feed lacks: the events after the last one it has, or (`fresh`) a full state. */
  private resync(fresh: boolean): void {
    if (this.resyncing && !fresh) return
    this.resyncing = true
    this.send(fresh || this.lastEventId === undefined ? { type: "RECONNECT" } : { type: "RESUME", since: this.lastEventId })
    this.cancel(this.resyncTimer)
    this.resyncTimer = this.later(this.options.resyncTimeoutMs ?? 5_000, () => this.drop("no answer to a resync"))
  }

  private startClockSync(): void {
    this.burstLeft = this.options.burstSamples ?? 5
    this.ping()
  }

  private ping(): void {
    this.send({ type: "PING", client_time: this.deps.clock.now() })
    this.cancel(this.pongTimer)
    this.pongTimer = this.later(this.options.pongTimeoutMs ?? 5_000, () => this.drop("no PONG"))
  }

  private onPong(clientTime: number | undefined, serverTime: number): void {
    this.cancel(this.pongTimer)
    if (clientTime !== undefined) this.deps.clock.add(clientTime, serverTime, this.deps.clock.now())
    if (--this.burstLeft > 0) return this.ping()
    this.later(this.options.pingIntervalMs ?? 10_000, () => this.ping())
  }

  /** Gives up on a socket that stopped answering; its close brings the reconnect. */
  private drop(reason: string): void {
    const socket = this.socket
    if (socket === undefined) return
    this.socket = undefined
    this.clearTimers()
    this.detach(socket).close(DROPPED, reason)
    this.lost(this.deps.endpoints.current)
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(message))
  }

  private detach(socket: Socket): Socket {
    socket.onopen = socket.onmessage = socket.onclose = null
    return socket
  }

  private setConnection(connection: ConnectionState): void {
    if (this.connectionState === connection || this.connectionState === "closed") return
    this.connectionState = connection
    this.handlers.onConnection?.(connection)
  }

  private later(ms: number, run: () => void): Timer {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      run()
    }, ms)
    this.timers.add(timer)
    return timer
  }

  private cancel(timer: Timer | undefined): void {
    if (timer === undefined) return
    clearTimeout(timer)
    this.timers.delete(timer)
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.resyncing = false
  }
}
