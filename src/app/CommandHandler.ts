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
import { type CommitOutcome, EventStore, type IdempotencyRecord } from "../infra/EventStore.ts"
import type { RedisUnavailable } from "../infra/RedisClient.ts"
import { ServerClock } from "../infra/ServerClock.ts"
import { ShardLogReader } from "../infra/ShardLogReader.ts"
import { AppConfig } from "./AppConfig.ts"
import { ContentionExceeded, IdempotencyKeyReused, SessionDeleted, VersionConflict } from "./errors.ts"
import { makeKeyedMutex } from "./KeyedMutex.ts"
import { decodeState, encodeState, toNewEvent } from "./sessionCodec.ts"
import { makeSnapshotCache } from "./SnapshotCache.ts"

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
  /**
   * Return the first answer to a retried request; the fingerprint tells a retry from a reuse. Keys
   * live in the caller's scope (its credential; "" when auth is off), so callers never share answers.
   */
  readonly idempotency?: { readonly key: string; readonly scope: string; readonly fingerprint: string } | undefined
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

const storedKeyOf = ({ key, scope }: NonNullable<CommandOptions["idempotency"]>) => scope === "" ? key : `${scope}/${key}`

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

/** The snapshot a command is decided on, and when. */
interface Basis {
  readonly state: SessionState | null
  readonly version: number
  readonly lastEventId: string | null
  readonly timeMs: number
  /** Cached here and timed by ServerClock rather than loaded with Redis TIME: the commit checks both. */
  readonly cached: boolean
}

/** How deciding and committing on one basis ended. */
type Step =
  | { readonly _tag: "Rejected"; readonly error: DomainError }
  /** Nothing to write: the answer is the state as it was. */
  | { readonly _tag: "Unchanged"; readonly answer: Answer }
  | { readonly _tag: "Applied"; readonly answer: Answer }
  | Exclude<CommitOutcome, { readonly _tag: "Committed" }>

/**
 * Decide and commit, on the snapshot cached here when there is one, else on a fresh load: the one path
 * every command takes. Commands for one session run one at a time on this instance; across instances
 * the version-checked commit serializes them, and an unpinned command that loses the race is decided
 * again on the fresh state.
 */
export class CommandHandler extends Context.Service<CommandHandler, {
  readonly execute: (sessionId: string, command: Command, options: CommandOptions) => Effect.Effect<Answer, CommandError>
  /** SessionNotFound when Redis does not know the session (it may be archived), SessionDeleted when it was deleted lately. */
  readonly read: (sessionId: string) => Effect.Effect<Read, SessionNotFound | SessionDeleted | RedisUnavailable>
}>()("synckairos/app/CommandHandler") {
  static readonly layer = Layer.effect(
    CommandHandler,
    Effect.gen(function*() {
      const store = yield* EventStore
      const clock = yield* ServerClock
      const { commandMaxAttempts, snapshotCacheSessions } = yield* AppConfig
      const serialized = makeKeyedMutex()
      const cache = makeSnapshotCache(snapshotCacheSessions)
      yield* (yield* ShardLogReader).listen(cache.observe)

      const decideAndCommit = Effect.fnUntraced(function*(sessionId: string, command: Command, options: CommandOptions, basis: Basis) {
        const decision = decide(basis.state, command, sessionId, basis.timeMs)
        if (Result.isFailure(decision)) return { _tag: "Rejected", error: decision.failure } as Step
        if (decision.success.length === 0) {
          // Nothing happened (the server settling a session with nothing due): nothing to write.
          const body = options.render({ state: basis.state, events: [], version: basis.version, serverTimeMs: basis.timeMs })
          return { _tag: "Unchanged", answer: { body: withEventId(body, basis.lastEventId ?? ""), replayed: false } } as Step
        }

        const state = decision.success.reduce<SessionState | null>(evolve, basis.state)
        const newEvents = decision.success.map((event, i) => toNewEvent(event, basis.version + i + 1))
        const version = basis.version + newEvents.length
        const ended = state === null || isTerminal(state.status)
        const body = options.render({ state, events: decision.success, version, serverTimeMs: basis.timeMs })
        const outcome = yield* store.commit({
          sessionId,
          expectedVersion: basis.version,
          expectedLastEventId: basis.lastEventId ?? "",
          decidedAtMs: basis.cached ? basis.timeMs : undefined,
          events: newEvents,
          state: state === null ? null : encodeState(state),
          ended,
          deadlineMs: state === null ? null : nextDueOf(state),
          idempotency: options.idempotency === undefined
            ? null
            : { key: storedKeyOf(options.idempotency), fingerprint: options.idempotency.fingerprint, body: JSON.stringify(body) }
        })
        if (outcome._tag !== "Committed") return outcome as Step
        const lastEventId = outcome.eventIds.at(-1) ?? ""
        // Nothing is decided on an ended session but its rejection, and the load path serves that.
        cache.remember(sessionId, state === null || ended ? null : { version, lastEventId, state })
        return { _tag: "Applied", answer: { body: withEventId(body, lastEventId), replayed: false } } as Step
      })

      /**
       * Decided on the cached snapshot at the ServerClock's time, saving the load round trip. Only a
       * commit counts: anything else (no snapshot here, a rejection or no-op that a stale snapshot may
       * explain, the session having moved on) leaves the command to the load path.
       */
      const attemptCached = Effect.fnUntraced(function*(sessionId: string, command: Command, options: CommandOptions) {
        // A retried request must find its first answer before anything is decided: the load reads it.
        if (options.idempotency !== undefined) return undefined
        const cached = cache.get(sessionId)
        if (cached === undefined) return undefined
        if (options.expectedVersion !== undefined && options.expectedVersion !== cached.version) return undefined
        const timeMs = yield* clock.nowMs
        const step = yield* decideAndCommit(sessionId, command, options, { ...cached, timeMs, cached: true })
        if (step._tag === "Applied") return step.answer
        if (step._tag === "Conflict" || step._tag === "Stale") cache.forget(sessionId)
        return undefined
      })

      const attempt = Effect.fnUntraced(function*(sessionId: string, command: Command, options: CommandOptions) {
        const loaded = yield* store.load(sessionId, options.idempotency === undefined ? undefined : storedKeyOf(options.idempotency))
        if (loaded.idempotent !== null && options.idempotency !== undefined) {
          return { _tag: "Done", answer: yield* replay(loaded.idempotent, options.idempotency) } as const
        }
        if (options.expectedVersion !== undefined && options.expectedVersion !== loaded.version) {
          return yield* new VersionConflict({ expectedVersion: options.expectedVersion, currentVersion: loaded.version })
        }
        const step = yield* decideAndCommit(sessionId, command, options, {
          state: loaded.state === null ? null : decodeState(loaded.state),
          version: loaded.version,
          lastEventId: loaded.lastEventId,
          timeMs: loaded.serverTimeMs,
          cached: false
        })
        switch (step._tag) {
          case "Rejected":
            return yield* step.error
          case "Unchanged":
          case "Applied":
            return { _tag: "Done", answer: step.answer } as const
          case "Replayed":
            return { _tag: "Done", answer: yield* replay(step.record, options.idempotency!) } as const
          case "Conflict":
            if (options.expectedVersion !== undefined) {
              return yield* new VersionConflict({ expectedVersion: options.expectedVersion, currentVersion: step.currentVersion })
            }
            return { _tag: "Retry" } as const
          case "Stale":
            return { _tag: "Retry" } as const
        }
      })

      // Untraced: the hot path, and no tracer is installed to receive spans.
      const execute = Effect.fnUntraced(function*(sessionId: string, command: Command, options: CommandOptions) {
        const fast = yield* attemptCached(sessionId, command, options)
        if (fast !== undefined) return fast
        for (let n = 1; n <= commandMaxAttempts; n++) {
          const result = yield* attempt(sessionId, command, options)
          if (result._tag === "Done") return result.answer
          if (n < commandMaxAttempts) yield* Effect.sleep(retryDelayMs(n))
        }
        return yield* new ContentionExceeded({ attempts: commandMaxAttempts })
      }, (effect, sessionId) => serialized(sessionId, effect))

      const read = Effect.fnUntraced(function*(sessionId: string) {
        const loaded = yield* store.load(sessionId)
        if (loaded.deleted) return yield* new SessionDeleted({ sessionId })
        if (loaded.state === null) return yield* new SessionNotFound({ sessionId })
        return { state: decodeState(loaded.state), lastEventId: loaded.lastEventId, serverTimeMs: loaded.serverTimeMs }
      })

      return CommandHandler.of({ execute, read })
    })
  )
}
