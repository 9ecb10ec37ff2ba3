import { Effect } from "effect"
import { evolve, type SessionState } from "../../domain/index.ts"
import type { EventStore, StoredEvent } from "../../infra/EventStore.ts"
import type { CommandHandler } from "../CommandHandler.ts"
import { fromStoredEvent } from "../sessionCodec.ts"

export interface ReplayedEvent {
  readonly event: StoredEvent
  /** The session after this event; null once it was deleted. */
  readonly state: SessionState | null
}

/** What a feed sends to bring its client up to date before it goes live. */
export type CatchUp =
  | { readonly _tag: "Replay"; readonly since: string; readonly sinceVersion: number; readonly events: ReadonlyArray<ReplayedEvent> }
  | { readonly _tag: "Sync"; readonly state: SessionState; readonly lastEventId: string }
  | { readonly _tag: "NotFound" }

/**
 * The events after `since`, each with the state it led to. The stream holds no states, so they are
 * folded from the session's first event; null when the stream no longer holds `since` (trimmed, or a
 * previous session under the same id) or no longer starts at the session's creation.
 */
export const replaySince = (
  events: ReadonlyArray<StoredEvent>,
  since: string
): { readonly sinceVersion: number; readonly events: ReadonlyArray<ReplayedEvent> } | null => {
  const at = events.findIndex((event) => event.id === since)
  if (at === -1 || events[0]?.version !== 1) return null
  let state: SessionState | null = null
  const replayed: Array<ReplayedEvent> = []
  events.forEach((event, i) => {
    state = evolve(state, fromStoredEvent(event))
    if (i > at) replayed.push({ event, state })
  })
  return { sinceVersion: events[at]!.version, events: replayed }
}

/** Reads what a feed must send: the events after `since` when the stream still has them, else the full state. */
export const planCatchUp = (
  deps: { readonly store: EventStore["Service"]; readonly handler: CommandHandler["Service"] },
  sessionId: string,
  since: string | undefined
) =>
  Effect.gen(function*() {
    if (since !== undefined) {
      const replay = replaySince(yield* deps.store.readEvents(sessionId), since)
      if (replay !== null) return { _tag: "Replay", since, ...replay } satisfies CatchUp
    }
    return yield* deps.handler.read(sessionId).pipe(
      Effect.map((read): CatchUp => ({ _tag: "Sync", state: read.state, lastEventId: read.lastEventId ?? "" })),
      Effect.catchTag(["SessionNotFound", "SessionDeleted"], () => Effect.succeed<CatchUp>({ _tag: "NotFound" }))
    )
  })
