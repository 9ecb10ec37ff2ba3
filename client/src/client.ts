import { ClockEstimator } from "./clock.ts"
import { SyncKairosError } from "./errors.ts"
import { type FollowHandlers, type FollowOptions, SessionFeed, type WebSocketClass } from "./follow.ts"
import { type Credentials, Endpoints, type HttpRequest, send } from "./http.ts"
import { elapsedAt, remainingAt, timeUsedAt } from "./time.ts"
import type { CreateSessionInput, HistoryPage, HistoryQuery, ServerTime, SessionState, SessionToken, TokenRequest } from "./types.ts"
import { checkCommand, checkCreate, checkHistory, checkSessionId, checkTokenRequest, type CommandOptions } from "./validate.ts"
import { randomUuid } from "./uuid.ts"

export interface SyncKairosOptions extends Credentials {
  /** The service's URL, or several instances' URLs: requests and feeds move on to the next when one is unreachable. */
  readonly baseUrl: string | ReadonlyArray<string>
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch
  /** Defaults to globalThis.WebSocket; on Node 20 pass `WebSocket` from the `ws` package. */
  readonly WebSocket?: WebSocketClass
  /** Shared by every feed of this client; pass one to share it between clients. */
  readonly clock?: ClockEstimator
}

export interface SwitchOptions extends CommandOptions {
  /** Give the turn to this participant instead of the next in turn order. */
  readonly nextParticipantId?: string
}

type Verb = "start" | "pause" | "resume" | "complete" | "cancel"

/**
 * A SyncKairos client: typed calls for every command and read, live feeds (`follow`) and the server
 * clock (`serverNow`, and the remaining-time helpers that use it).
 */
export class SyncKairos {
  readonly clock: ClockEstimator
  private readonly endpoints: Endpoints
  private readonly credentials: Credentials
  private readonly fetchImpl: typeof fetch
  private readonly WebSocketImpl: WebSocketClass | undefined

  constructor(options: SyncKairosOptions) {
    this.endpoints = new Endpoints(options.baseUrl)
    this.credentials = { token: options.token, apiKey: options.apiKey }
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init))
    this.WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketClass }).WebSocket
    this.clock = options.clock ?? new ClockEstimator()
  }

  /** Creates a session (status `pending`); `session_id` and participant ids are generated when left out. */
  async createSession(input: CreateSessionInput, options: CommandOptions = {}): Promise<SessionState> {
    checkCreate(input, options)
    const body = {
      ...input,
      session_id: input.session_id ?? randomUuid(),
      participants: input.participants.map((p) => ({ ...p, participant_id: p.participant_id ?? randomUuid() }))
    }
    return this.request({ method: "POST", path: "/v1/sessions", body, ...this.commandHeaders(options) })
  }

  async start(sessionId: string, options: CommandOptions = {}): Promise<SessionState> {
    return this.command("start", sessionId, options)
  }

  /** Ends the active turn and starts the next (`nextParticipantId`, or the next in turn order). */
  async switchTurn(sessionId: string, options: SwitchOptions = {}): Promise<SessionState> {
    checkCommand(sessionId, options, options.nextParticipantId)
    const body = options.nextParticipantId === undefined ? undefined : { next_participant_id: options.nextParticipantId }
    return this.request({ method: "POST", path: `/v1/sessions/${sessionId}/switch`, body, ...this.commandHeaders(options) })
  }

  async pause(sessionId: string, options: CommandOptions = {}): Promise<SessionState> {
    return this.command("pause", sessionId, options)
  }

  async resume(sessionId: string, options: CommandOptions = {}): Promise<SessionState> {
    return this.command("resume", sessionId, options)
  }

  async complete(sessionId: string, options: CommandOptions = {}): Promise<SessionState> {
    return this.command("complete", sessionId, options)
  }

  async cancel(sessionId: string, options: CommandOptions = {}): Promise<SessionState> {
    return this.command("cancel", sessionId, options)
  }

  async deleteSession(sessionId: string, options: CommandOptions = {}): Promise<void> {
    checkCommand(sessionId, options)
    await this.request({ method: "DELETE", path: `/v1/sessions/${sessionId}`, ...this.commandHeaders(options) })
  }

  /** The session as of now; once it has left the live store, as last audited (`archived: true`). */
  async getSession(sessionId: string, options: { readonly signal?: AbortSignal } = {}): Promise<SessionState> {
    checkSessionId(sessionId)
    return this.request({ method: "GET", path: `/v1/sessions/${sessionId}`, signal: options.signal })
  }

  /** One page of the session's events; `next` holds the bound of the following page. */
  async history(sessionId: string, query: HistoryQuery = {}): Promise<HistoryPage> {
    checkHistory(sessionId, query)
    const params = new URLSearchParams()
    if (query.order !== undefined) params.set("order", query.order)
    if (query.afterVersion !== undefined) params.set("after_version", String(query.afterVersion))
    if (query.beforeVersion !== undefined) params.set("before_version", String(query.beforeVersion))
    if (query.limit !== undefined) params.set("limit", String(query.limit))
    const search = params.toString() === "" ? "" : `?${params}`
    return this.request({ method: "GET", path: `/v1/sessions/${sessionId}/events${search}` })
  }

  /**
   * A session token for a browser or game client (`POST /v1/sessions/:id/tokens`): call it with an API
   * key, on a server, and hand the token on; never ship the key.
   */
  async createToken(sessionId: string, request: TokenRequest): Promise<SessionToken> {
    checkTokenRequest(sessionId, request)
    const body = {
      role: request.role,
      ...(request.participantId === undefined ? {} : { participant_id: request.participantId }),
      ...(request.ttlSeconds === undefined ? {} : { ttl_seconds: request.ttlSeconds })
    }
    return this.request({ method: "POST", path: `/v1/sessions/${sessionId}/tokens`, body })
  }

  /** The server's time (`GET /v1/time`), taken as a clock sample too. */
  async time(): Promise<number> {
    const sentAt = this.clock.now()
    const { server_time_ms } = await this.request<ServerTime>({ method: "GET", path: "/v1/time" })
    this.clock.add(sentAt, server_time_ms, this.clock.now())
    return server_time_ms
  }

  /** Takes `samples` clock samples over HTTP, for a client that does not follow a feed. */
  async syncClock(samples = 5): Promise<number> {
    for (let i = 0; i < samples; i++) await this.time()
    return this.clock.offsetMs
  }

  /**
   * Follows a session live: `handlers.onState` gets every state once, in version order, through
   * reconnects and instance restarts. Close the returned feed to stop.
   */
  follow(sessionId: string, handlers: FollowHandlers, options: FollowOptions = {}): SessionFeed {
    checkSessionId(sessionId)
    if (this.WebSocketImpl === undefined) {
      throw SyncKairosError.invalidArgument([{ field: "WebSocket", message: "is required where there is no global WebSocket (Node 20: pass WebSocket from the ws package)" }])
    }
    const deps = { endpoints: this.endpoints, credentials: this.credentials, clock: this.clock, WebSocket: this.WebSocketImpl }
    return new SessionFeed(deps, sessionId, handlers, options)
  }

  /** Server time now, estimated from the clock samples (epoch ms). */
  serverNow(): number {
    return this.clock.serverNow()
  }

  /** What the participant's clock (by default the active clock) holds now; never below zero. */
  remainingMs(state: SessionState, participantId?: string): number {
    return remainingAt(state, this.serverNow(), participantId)
  }

  /** Time the participant has used so far, the running turn included. */
  timeUsedMs(state: SessionState, participantId?: string): number {
    return timeUsedAt(state, this.serverNow(), participantId)
  }

  /** count_up: the time counted so far. */
  elapsedMs(state: SessionState): number {
    return elapsedAt(state, this.serverNow())
  }

  private async command(verb: Verb, sessionId: string, options: CommandOptions): Promise<SessionState> {
    checkCommand(sessionId, options)
    return this.request({ method: "POST", path: `/v1/sessions/${sessionId}/${verb}`, ...this.commandHeaders(options) })
  }

  private commandHeaders(options: CommandOptions): Pick<HttpRequest, "headers" | "signal"> {
    const headers: Record<string, string> = {}
    if (options.expectedVersion !== undefined) headers["if-match"] = `"${options.expectedVersion}"`
    if (options.idempotencyKey !== undefined) headers["idempotency-key"] = options.idempotencyKey
    return { headers, signal: options.signal }
  }

  private request<T>(request: HttpRequest): Promise<T> {
    return send<T>(this.endpoints, this.credentials, this.fetchImpl, request)
  }
}
