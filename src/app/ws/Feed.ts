import { type Context, Effect, Result } from "effect"
import { evolve, type SessionState } from "../../domain/index.ts"
import { catchUpGate, type Gate, type Passed } from "../../infra/follow/catchUpGate.ts"
import type { ServerClock } from "../../infra/ServerClock.ts"
import type { LogEntry } from "../../infra/streamEntries.ts"
import { streamIdMs } from "../../infra/streamIds.ts"
import type { CommandHandler } from "../CommandHandler.ts"
import type { History } from "../History.ts"
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
  /** From the event's commit to this rendering, in seconds, on the Redis clock. */
  readonly lagSeconds: number
  /** The session after the entry; null when the entry deleted it. */
  readonly state: SessionState | null
}

export interface FeedDeps {
  readonly fanOut: FanOut["Service"]
  readonly history: History["Service"]
  readonly handler: CommandHandler["Service"]
  readonly clock: ServerClock["Service"]
  readonly metrics: Metrics["Service"]
  /**
   * The frame of a live entry and the state it leads to, folded from the state before it and rendered
   * once for every socket of its session; undefined when neither that state nor the result is known.
   */
  readonly renderLive: (entry: LogEntry, before: SessionState | undefined) => Rendered | undefined
  /** The services' context: the feed's effects run with it (its logger, its configuration). */
  readonly context: Context.Context<never>
}

/** Live entries are ordered by version: a catch-up covers the session up to one. */
const versions = catchUpGate<number, LogEntry>({ keyOf: (entry) => entry.version, compare: (a, b) => a - b })

const wireEventOf = (entry: LogEntry): WireEvent =>
  ({ id: entry.eventId, type: entry.type, version: entry.version, at: entry.at, payload: entry.payload })

/**
 * Folds and renders each live entry once: the fan-out hands the same entry to every subscriber of its
 * session one after the other, so remembering the last one is enough, and a feed that holds no state
 * (its resume ended at a deletion) takes the one another feed of the session folded.
 */
export const liveRenderer = (clock: ServerClock["Service"]) => {
  let last: { readonly entry: LogEntry; readonly rendered: Rendered } | undefined
  return (entry: LogEntry, before: SessionState | undefined): Rendered | undefined => {
    if (last?.entry !== entry) {
      if (before === undefined) return undefined
      const at = clock.now()
      const event = wireEventOf(entry)
      // null after a deletion: the domain's evolve leaves no state.
      const state = evolve(before, fromStoredEvent(entry))
      const text = state === null
        ? sessionDeletedFrame(entry.sessionId, event, at)
        : stateUpdateFrame(entry.sessionId, state, event, at)
      last = { entry, rendered: { frame: Buffer.from(text), lagSeconds: Math.max(0, at - streamIdMs(entry.eventId)) / 1000, state } }
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
  /**
   * The version of the last event or state sent (live entries at or below it were already covered),
   * and the live entries held back while catching up.
   */
  private gate: Gate<number, LogEntry> = versions.holding(0)
  /** The version of the last event or state sent: the next live entry must follow it. */
  private sentVersion = 0
  /** The session at sentVersion, which the next live entry is folded into; undefined when not known. */
  private state: SessionState | undefined
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

  /** CONNECTED, then the events after `since` while Redis or the audit still has them, else STATE_SYNC. */
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
    this.gate = versions.hold(this.gate)
    this.pendingCatchUps++
    this.work = this.work
      .then(() => this.runCatchUp(since, greet))
      .catch(() => this.outlet.close(CloseCode.internalError, "internal error"))
      .finally(() => this.pendingCatchUps--)
  }

  private async runCatchUp(since: string | undefined, greet: boolean): Promise<void> {
    const result = await Effect.runPromiseWith(this.deps.context)(Effect.result(planCatchUp(this.deps, this.sessionId, since)))
    if (this.stopped) return
    const now = this.deps.clock.now()
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
    let covered: number
    if (plan._tag === "Sync") {
      this.outlet.send(stateSyncFrame(this.sessionId, plan.state, plan.lastEventId, now))
      covered = plan.state.version
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
      covered = last?.version ?? plan.sinceVersion
      this.outlet.send(resumedFrame(this.sessionId, {
        since: plan.since,
        replayed: plan.events.length,
        version: covered,
        lastEventId: last?.id ?? plan.since
      }, now))
      this.state = plan.state ?? undefined
    }
    this.sentVersion = covered
    // Another catch-up queued behind this one keeps holding for itself.
    this.sendThrough(versions.release(versions.coveredTo(this.gate, covered), this.pendingCatchUps > 1 ? "holding" : "live"))
  }

  private onEntry(entry: LogEntry): void {
    this.sendThrough(versions.offer(this.gate, [entry]))
  }

  private sendThrough({ gate, passed }: Passed<number, LogEntry>): void {
    this.gate = gate
    for (const entry of passed) this.deliver(entry)
  }

  private deliver(entry: LogEntry): void {
    let rendered: Rendered | undefined
    try {
      // An entry past the next version (one went missing) has nothing here to be folded into.
      rendered = entry.version === this.sentVersion + 1 ? this.deps.renderLive(entry, this.state) : undefined
    } catch {
      // An event that does not decode must not stop the fan-out to the session's other sockets.
      return this.outlet.close(CloseCode.internalError, "internal error")
    }
    if (rendered === undefined) {
      // Rather than a wrong state, the whole state again (once: a catch-up pending covers this entry).
      if (!this.gate.holding) this.resync()
      return
    }
    this.sentVersion = entry.version
    this.state = rendered.state ?? undefined
    const { metrics } = this.deps
    if (this.outlet.send(rendered.frame)) {
      metrics.eventsFannedOut.inc()
      metrics.deliveryLag.observe(rendered.lagSeconds)
    }
    if (rendered.state === null) this.outlet.close(CloseCode.normal, "session deleted", "session_deleted")
  }
}
