import { Effect } from "effect"
import { evolve, type SessionState } from "../../domain/index.ts"
import type { StoredEvent } from "../../infra/EventStore.ts"
import { compareStreamIds } from "../../infra/streamIds.ts"
import type { CommandHandler } from "../CommandHandler.ts"
import type { History } from "../History.ts"
import { fromStoredEvent } from "../sessionCodec.ts"

export interface ReplayedEvent {
  readonly event: StoredEvent
  /** The session after this event; null once it was deleted. */
  readonly state: SessionState | null
}

/** What a feed sends to bring its client up to date before it goes live. */
export type CatchUp =
  | {
    readonly _tag: "Replay"
    readonly since: string
    readonly sinceVersion: number
    readonly events: ReadonlyArray<ReplayedEvent>
    /** The session after the last event replayed, or at `since` when none is; null once deleted. */
    readonly state: SessionState | null
  }
  | { readonly _tag: "Sync"; readonly state: SessionState; readonly lastEventId: string }
  | { readonly _tag: "NotFound" }

type Replay = Extract<CatchUp, { readonly _tag: "Replay" }>

/** Every version from the session's creation (1) on, each once, in the order of their ids. */
const isWhole = (events: ReadonlyArray<StoredEvent>): boolean =>
  events.every((event, i) => {
    const previous = events[i - 1]
    return previous === undefined
      ? event.version === 1
      : event.version === previous.version + 1 && compareStreamIds(previous.id, event.id) < 0
  })

/**
 * The events after `since`, each with the state it led to. Neither the shard log nor the audit holds
 * states, so they are folded from the session's first event; null when the events do not hold
 * `since` (a previous session under the same id, or older than the audit) or miss a version
 * between the session's creation and the newest (the audit has not written them yet).
 */
export const replaySince = (
  events: ReadonlyArray<StoredEvent>,
  since: string
): Omit<Replay, "_tag" | "since"> | null => {
  const at = events.findIndex((event) => event.id === since)
  if (at === -1 || !isWhole(events)) return null
  let state: SessionState | null = null
  const replayed: Array<ReplayedEvent> = []
  events.forEach((event, i) => {
    state = evolve(state, fromStoredEvent(event))
    if (i > at) replayed.push({ event, state })
  })
  return { sinceVersion: events[at]!.version, events: replayed, state }
}

/**
 * Reads what a feed must send: the events after `since` while they can be told without a gap (from
 * Redis, and from the audit for those Redis no longer holds), else the full state. An audit that does
 * not answer means the full state too. The snapshot is read first: a client resuming from the
 * session's last event (the usual reconnect) needs nothing else, so a reconnect storm costs one
 * snapshot read per socket, not each session's whole history.
 */
export const planCatchUp = (
  deps: { readonly history: History["Service"]; readonly handler: CommandHandler["Service"] },
  sessionId: string,
  since: string | undefined
) =>
  Effect.gen(function*() {
    const current = yield* deps.handler.read(sessionId).pipe(
      Effect.catchTag(["SessionNotFound", "SessionDeleted"], () => Effect.succeed(undefined))
    )
    if (since !== undefined) {
      if (current !== undefined && current.lastEventId === since) {
        return { _tag: "Replay", since, sinceVersion: current.state.version, events: [], state: current.state } satisfies CatchUp
      }
      // A deleted session's index may still list its deletion, which a client resuming before it is told.
      const events = yield* deps.history.fromStart(sessionId).pipe(
        Effect.catchTag("AuditUnavailable", () => Effect.succeed<ReadonlyArray<StoredEvent>>([]))
      )
      const replay = replaySince(events, since)
      if (replay !== null) return { _tag: "Replay", since, ...replay } satisfies CatchUp
    }
    return current === undefined
      ? { _tag: "NotFound" } satisfies CatchUp
      : { _tag: "Sync", state: current.state, lastEventId: current.lastEventId ?? "" } satisfies CatchUp
  })
