import { Effect, Result } from "effect"
import { evolve, type SessionState } from "../../domain/index.ts"
import type { EventStore } from "../../infra/EventStore.ts"
import type { ServerClock } from "../../infra/ServerClock.ts"
import { deletesSession, type LogEntry } from "../../infra/streamEntries.ts"
import { streamIdMs } from "../../infra/streamIds.ts"
import type { CommandHandler } from "../CommandHandler.ts"
import type { CloseReason, Metrics } from "../metrics.ts"
import { fromStoredEvent } from "../sessionCodec.ts"
import { planCatchUp } from "./catchUp.ts"
import type { FanOut } from "./FanOut.ts"
import {
  CloseCode,
  connectedFrame,
  errorFrame,
  resumedFrame,
  sessionDeletedFrame,
  stateSyncFrame,
  stateUpdateFrame,
  type WireEvent
} from "./protocol.ts"

/** Where a feed writes: one socket. A frame is text, as a string or already encoded as UTF-8. */
export interface Outlet {
  /** False when the frame was not sent: the socket is closing, or was just closed for a full send buffer. */
  readonly send: (frame: string | Buffer) => boolean
  readonly close: (code: number, reason: string, why?: CloseReason) => void
}

interface Rendered {
  /** Encoded once: a session's sockets all send the same bytes. */
  readonly frame: Buffer
  readonly now: number
  /** The session after the entry; null when the entry deleted it. */
  readonly state: SessionState | null
}

export interface FeedDeps {
  readonly fanOut: FanOut["Service"]
  readonly store: EventStore["Service"]
  readonly handler: CommandHandler["Service"]
  readonly clock: ServerClock["Service"]
  readonly metrics: Metrics["Service"]
  /**
   * The frame of a live entry and the state it leads to, folded from the state before it and rendered
   * once for every socket of its session; undefined when neither that state nor the result is known.
   */
  readonly renderLive: (entry: LogEntry, before: SessionState | undefined) => Rendered | undefined
}

const wireEventOf = (entry: LogEntry): WireEvent =>
  ({ id: entry.eventId, type: entry.type, version: entry.version, at: entry.at, payload: entry.payload })

/**
 * Folds and renders each live entry once: the fan-out hands the same entry to every subscriber of its
 * session one after the other, so remembering the last one is enough, and a feed that holds no state
 * (a resume that replayed nothing) takes the one another feed of the session folded.
 */
export const liveRenderer = (clock: ServerClock["Service"]) => {
  let last: { readonly entry: LogEntry; readonly rendered: Rendered } | undefined
  return (entry: LogEntry, before: SessionState | undefined): Rendered | undefined => {
    if (last?.entry !== entry) {
      if (before === undefined) return undefined
      const now = Effect.runSync(clock.nowMs)
      const event = wireEventOf(entry)
      const state = deletesSession(entry) ? null : evolve(before, fromStoredEvent(entry))
      const text = state === null
        ? sessionDeletedFrame(entry.sessionId, event, now)
        : stateUpdateFrame(entry.sessionId, state, event, now)
      last = { entry, rendered: { frame: Buffer.from(text), now, state } }
    }
    return last.rendered
  }
}

/**
 * One client's view of one session. It subscribes to the fan-out before it reads anything, holds the
 * live entries back while it catches up (full state, or the events after `since`), then sends those
 * held entries that are newer than what it caught up to: the versions a client sees have no gap and
 * no repeat. Catch-ups (connect, RESUME, RECONNECT) run one after another.
 */
export class Feed {
  /** Version of the last event or state sent; live entries at or below it were already covered. */
  private lastVersion = 0
  /** The session at lastVersion, which the next live entry is folded into; undefined when not known. */
  private state: SessionState | undefined
  /** Live entries held back while catching up; null once live. */
  private held: Array<LogEntry> | null = []
  private pendingCatchUps = 0
  private work: Promise<void> = Promise.resolve()
  private stopped = false
  private readonly unsubscribe: () => void

  constructor(
    private readonly deps: FeedDeps,
    private readonly sessionId: string,
    private readonly outlet: Outlet
  ) {
    this.unsubscribe = deps.fanOut.subscribe(sessionId, { entry: (entry) => this.onEntry(entry), resync: () => this.resync() })
  }

  /** CONNECTED, then the events after `since` while the stream still has them, else STATE_SYNC. */
  start(since: string | undefined): void {
    this.catchUp(since, true)
  }

  /** The events after `since` again, whatever was sent before. */
  resume(since: string): void {
    this.catchUp(since, false)
  }

  /** A fresh STATE_SYNC (v2's RECONNECT; and when Redis lost the session's shard log). */
  resync(): void {
    this.catchUp(undefined, false)
  }

  stop(): void {
    this.stopped = true
    this.unsubscribe()
  }

  private catchUp(since: string | undefined, greet: boolean): void {
    this.held ??= []
    this.pendingCatchUps++
    this.work = this.work
      .then(() => this.runCatchUp(since, greet))
      .catch(() => this.outlet.close(CloseCode.internalError, "internal error"))
      .finally(() => this.pendingCatchUps--)
  }

  private now(): number {
    return Effect.runSync(this.deps.clock.nowMs)
  }

  private async runCatchUp(since: string | undefined, greet: boolean): Promise<void> {
    const result = await Effect.runPromise(Effect.result(planCatchUp(this.deps, this.sessionId, since)))
    if (this.stopped) return
    const now = this.now()
    if (Result.isFailure(result)) {
      this.outlet.send(errorFrame("SERVICE_UNAVAILABLE", "the session store is unavailable; reconnect shortly"))
      return this.outlet.close(CloseCode.internalError, "session store unavailable")
    }
    const plan = result.success
    if (plan._tag === "NotFound") {
      this.outlet.send(errorFrame("SESSION_NOT_FOUND", `session ${this.sessionId} does not exist`))
      return this.outlet.close(CloseCode.policyViolation, "session not found")
    }
    if (greet) this.outlet.send(connectedFrame(this.sessionId, now))
    if (plan._tag === "Sync") {
      this.outlet.send(stateSyncFrame(this.sessionId, plan.state, plan.lastEventId, now))
      this.lastVersion = plan.state.version
      this.state = plan.state
    } else {
      for (const { event, state } of plan.events) {
        if (state === null) {
          this.outlet.send(sessionDeletedFrame(this.sessionId, event, now))
          return this.outlet.close(CloseCode.normal, "session deleted", "session_deleted")
        }
        this.outlet.send(stateUpdateFrame(this.sessionId, state, event, now))
      }
      const last = plan.events.at(-1)?.event
      this.lastVersion = last?.version ?? plan.sinceVersion
      this.outlet.send(resumedFrame(this.sessionId, {
        since: plan.since,
        replayed: plan.events.length,
        version: this.lastVersion,
        lastEventId: last?.id ?? plan.since
      }, now))
      // Replaying nothing leaves the state at `since` to be found: the one held here, else the snapshot.
      this.state = plan.events.at(-1)?.state ??
        (this.state?.version === this.lastVersion ? this.state : await this.snapshotAt(this.lastVersion))
      if (this.stopped) return
    }
    const held = this.held ?? []
    // Another catch-up queued behind this one keeps holding for itself.
    this.held = this.pendingCatchUps > 1 ? [] : null
    for (const entry of held) this.deliver(entry)
  }

  /** The session's snapshot when it is still at `version`; else undefined, and the next live entry resyncs. */
  private async snapshotAt(version: number): Promise<SessionState | undefined> {
    const read = await Effect.runPromise(Effect.result(this.deps.handler.read(this.sessionId)))
    return Result.isSuccess(read) && read.success.state.version === version ? read.success.state : undefined
  }

  private onEntry(entry: LogEntry): void {
    if (this.held !== null) this.held.push(entry)
    else this.deliver(entry)
  }

  private deliver(entry: LogEntry): void {
    if (entry.version <= this.lastVersion) return
    let rendered: Rendered | undefined
    try {
      // An entry past the next version (one went missing) has nothing here to be folded into.
      rendered = entry.version === this.lastVersion + 1 ? this.deps.renderLive(entry, this.state) : undefined
    } catch {
      // An event that does not decode must not stop the fan-out to the session's other sockets.
      return this.outlet.close(CloseCode.internalError, "internal error")
    }
    if (rendered === undefined) {
      // Rather than a wrong state, the whole state again (once: a catch-up pending covers this entry).
      if (this.held === null) this.resync()
      return
    }
    this.lastVersion = entry.version
    this.state = rendered.state ?? undefined
    const { metrics } = this.deps
    if (this.outlet.send(rendered.frame)) {
      metrics.eventsFannedOut.inc()
      metrics.deliveryLag.observe(Math.max(0, rendered.now - streamIdMs(entry.eventId)) / 1000)
    }
    if (rendered.state === null) this.outlet.close(CloseCode.normal, "session deleted", "session_deleted")
  }
}
