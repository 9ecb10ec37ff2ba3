import { Context, Effect, Layer, Result } from "effect"
import {
  type Command,
  decide,
  type DomainError,
  evolve,
  isTerminal,
  nextDueOf,
  type SessionEvent,
  SessionNotFound,
  type SessionState
} from "../domain/index.ts"
import { EventStore, type IdempotencyRecord } from "../infra/EventStore.ts"
import type { RedisUnavailable } from "../infra/RedisClient.ts"
import { AppConfig } from "./AppConfig.ts"
import { ContentionExceeded, IdempotencyKeyReused, VersionConflict } from "./errors.ts"
import { makeKeyedMutex } from "./KeyedMutex.ts"
import { decodeState, encodeState, toNewEvent } from "./sessionCodec.ts"

/** What a command led to, for the caller to render its answer from. */
export interface Outcome {
  readonly state: SessionState | null
  readonly events: ReadonlyArray<SessionEvent>
  readonly version: number
  readonly serverTimeMs: number
}

export interface CommandOptions {
  /** Answer 409 instead of retrying when the session is not at this version. */
  readonly expectedVersion?: number | undefined
  /** Return the first answer to a retried request; the fingerprint tells a retry from a reuse. */
  readonly idempotency?: { readonly key: string; readonly fingerprint: string } | undefined
  /** The answer's body. It is stored with the commit for idempotent retries, so it cannot know the event id yet. */
  readonly render: (outcome: Outcome) => Record<string, unknown>
}

/** The rendered body with the id of the last event it produced. */
export interface Answer {
  readonly body: Record<string, unknown>
  readonly replayed: boolean
}

/** A session as read, with the time base of the same round trip. */
export interface Read {
  readonly state: SessionState
  readonly lastEventId: string | null
  readonly serverTimeMs: number
}

export type CommandError = DomainError | VersionConflict | ContentionExceeded | IdempotencyKeyReused | RedisUnavailable

const withEventId = (body: Record<string, unknown>, lastEventId: string) => ({ ...body, last_event_id: lastEventId })

const replay = (record: IdempotencyRecord, idempotency: NonNullable<CommandOptions["idempotency"]>) =>
  record.fingerprint === idempotency.fingerprint
    ? Effect.succeed<Answer>({ body: withEventId(JSON.parse(record.body) as Record<string, unknown>, record.lastEventId), replayed: true })
    : Effect.fail(new IdempotencyKeyReused({ key: idempotency.key }))

/**
 * How long to wait before attempt n + 1 after a lost race: a random share of a window that doubles up
 * to RETRY_WINDOW_CAP_MS. Retrying at once can lock into step with another instance's stream of
 * commands on the same session and lose every time; a random wait breaks the step, and the growing
 * window outlasts a burst.
 */
const RETRY_WINDOW_CAP_MS = 32
const retryDelayMs = (n: number) => Math.random() * Math.min(RETRY_WINDOW_CAP_MS, 2 ** (n - 1))

/**
 * Load, decide, commit: the one path every command takes. Commands for one session run one at a time
 * on this instance; across instances the version-checked commit serializes them, and an unpinned
 * command that loses the race is decided again on the fresh state.
 */
export class CommandHandler extends Context.Service<CommandHandler, {
  readonly execute: (sessionId: string, command: Command, options: CommandOptions) => Effect.Effect<Answer, CommandError>
  readonly read: (sessionId: string) => Effect.Effect<Read, SessionNotFound | RedisUnavailable>
}>()("synckairos/app/CommandHandler") {
  static readonly layer = Layer.effect(
    CommandHandler,
    Effect.gen(function*() {
      const store = yield* EventStore
      const { commandMaxAttempts } = yield* AppConfig
      const serialized = makeKeyedMutex()

      const attempt = Effect.fnUntraced(function*(sessionId: string, command: Command, options: CommandOptions) {
        const loaded = yield* store.load(sessionId, options.idempotency?.key)
        if (loaded.idempotent !== null && options.idempotency !== undefined) {
          return { _tag: "Done", answer: yield* replay(loaded.idempotent, options.idempotency) } as const
        }
        if (options.expectedVersion !== undefined && options.expectedVersion !== loaded.version) {
          return yield* new VersionConflict({ expectedVersion: options.expectedVersion, currentVersion: loaded.version })
        }
        const before = loaded.state === null ? null : decodeState(loaded.state)
        const decision = decide(before, command, sessionId, loaded.serverTimeMs)
        if (Result.isFailure(decision)) return yield* decision.failure
        if (decision.success.length === 0) {
          // Nothing happened (the server settling a session with nothing due): nothing to write.
          const body = options.render({ state: before, events: [], version: loaded.version, serverTimeMs: loaded.serverTimeMs })
          return { _tag: "Done", answer: { body: withEventId(body, loaded.lastEventId ?? ""), replayed: false } } as const
        }

        let state = before
        const newEvents = decision.success.map((event, i) => {
          state = evolve(state, event)
          return toNewEvent(event, loaded.version + i + 1, state)
        })
        const version = loaded.version + newEvents.length
        const body = options.render({ state, events: decision.success, version, serverTimeMs: loaded.serverTimeMs })
        const outcome = yield* store.commit({
          sessionId,
          expectedVersion: loaded.version,
          events: newEvents,
          state: state === null ? null : encodeState(state),
          ended: state === null || isTerminal(state.status),
          deadlineMs: state === null ? null : nextDueOf(state),
          idempotency: options.idempotency === undefined ? null : { ...options.idempotency, body: JSON.stringify(body) }
        })
        switch (outcome._tag) {
          case "Committed":
            return { _tag: "Done", answer: { body: withEventId(body, outcome.eventIds.at(-1) ?? ""), replayed: false } } as const
          case "Replayed":
            return { _tag: "Done", answer: yield* replay(outcome.record, options.idempotency!) } as const
          case "Conflict":
            if (options.expectedVersion !== undefined) {
              return yield* new VersionConflict({ expectedVersion: options.expectedVersion, currentVersion: outcome.currentVersion })
            }
            return { _tag: "Retry" } as const
        }
      })

      // Untraced: the hot path, and no tracer is installed to receive spans.
      const execute = Effect.fnUntraced(function*(sessionId: string, command: Command, options: CommandOptions) {
        for (let n = 1; n <= commandMaxAttempts; n++) {
          const result = yield* attempt(sessionId, command, options)
          if (result._tag === "Done") return result.answer
          if (n < commandMaxAttempts) yield* Effect.sleep(retryDelayMs(n))
        }
        return yield* new ContentionExceeded({ attempts: commandMaxAttempts })
      }, (effect, sessionId) => serialized(sessionId, effect))

      const read = Effect.fnUntraced(function*(sessionId: string) {
        const loaded = yield* store.load(sessionId)
        if (loaded.state === null) return yield* new SessionNotFound({ sessionId })
        return { state: decodeState(loaded.state), lastEventId: loaded.lastEventId, serverTimeMs: loaded.serverTimeMs }
      })

      return CommandHandler.of({ execute, read })
    })
  )
}
