import { Context, Effect, Layer, Result } from "effect"
import {
  type Command,
  decide,
  type DomainError,
  dueAtOf,
  evolve,
  isTerminal,
  type SessionEvent,
  SessionNotFound,
  type SessionState
} from "../domain/index.ts"
import { type CommitOutcome, EventStore, type IdempotencyRecord } from "../infra/EventStore.ts"
import type { RedisUnavailable } from "../infra/RedisClient.ts"
import { ServerClock } from "../infra/ServerClock.ts"
import { ShardLogReader } from "../infra/ShardLogReader.ts"
import { AppConfig } from "./AppConfig.ts"
import { ContentionExceeded, IdempotencyKeyReused, IdempotencyRecordUnreadable, SessionDeleted, VersionConflict } from "./errors.ts"
import { makeKeyedMutex } from "./KeyedMutex.ts"
import { decodeOutcome, encodeOutcome } from "./outcomeCodec.ts"
import { decodeState, encodeState, toNewEvent } from "./sessionCodec.ts"
import { makeSnapshotCache } from "./SnapshotCache.ts"

/** What a command led to: the session after it and the events it wrote, for each caller to render. */
export interface Outcome {
  /** null once the session is deleted. */
  readonly state: SessionState | null
  /** Empty when nothing was due (the scheduler's settle on a session that moved on). */
  readonly events: ReadonlyArray<SessionEvent>
  readonly version: number
  /** The id of the last event the session has ("" when it has none). */
  readonly lastEventId: string
  /** The time the command was decided at, the time base of every time field rendered from the state. */
  readonly serverTimeMs: number
  /** A retried request's first outcome (Idempotency-Key), read back rather than decided now. */
  readonly replayed: boolean
}

export interface CommandOptions {
  /** Answer 409 instead of retrying when the session is not at this version. */
  readonly expectedVersion?: number | undefined
  /**
   * Return the first outcome to a retried request; the fingerprint tells a retry from a reuse. Keys
   * live in the caller's scope (its credential; "" when auth is off), so callers never share outcomes.
   */
  readonly idempotency?: { readonly key: string; readonly scope: string; readonly fingerprint: string } | undefined
}

/** A session as read, with the time base of the same round trip. */
export interface Read {
  readonly state: SessionState
  readonly lastEventId: string | null
  readonly serverTimeMs: number
}

export type CommandError =
  | DomainError
  | VersionConflict
  | ContentionExceeded
  | IdempotencyKeyReused
  | IdempotencyRecordUnreadable
  | RedisUnavailable

type Idempotency = NonNullable<CommandOptions["idempotency"]>

const storedKeyOf = ({ key, scope }: Idempotency) => scope === "" ? key : `${scope}/${key}`

const replay = (record: IdempotencyRecord, idempotency: Idempotency) =>
  record.fingerprint === idempotency.fingerprint
    ? Effect.try({
      try: () => decodeOutcome(record.body, record.lastEventId),
      catch: () => new IdempotencyRecordUnreadable({ key: idempotency.key })
    })
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
  readonly lastEventId: string
  readonly timeMs: number
  /** Cached here and timed by ServerClock rather than loaded with Redis TIME: the commit checks both. */
  readonly cached: boolean
}

/** How deciding and committing on one basis ended: with an outcome, or with why there is none. */
type Attempt =
  | { readonly _tag: "Decided"; readonly outcome: Outcome }
  | { readonly _tag: "Rejected"; readonly error: DomainError }
  | Exclude<CommitOutcome, { readonly _tag: "Committed" }>

const decided = (outcome: Outcome): Attempt => ({ _tag: "Decided", outcome })

const toLoadPath = Effect.succeed(undefined)

/**
 * Decide and commit, on the snapshot cached here when there is one, else on a fresh load: the one path
 * every command takes. Commands for one session run one at a time on this instance; across instances
 * the version-checked commit serializes them, and an unpinned command that loses the race is decided
 * again on the fresh state.
 */
export class CommandHandler extends Context.Service<CommandHandler, {
  readonly execute: (sessionId: string, command: Command, options?: CommandOptions) => Effect.Effect<Outcome, CommandError>
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

      // Plain functions rather than generators: this is the path of every command.
      const decideAndCommit = (
        sessionId: string,
        command: Command,
        idempotency: Idempotency | undefined,
        basis: Basis
      ): Effect.Effect<Attempt, RedisUnavailable> => {
        const decision = decide(basis.state, command, sessionId, basis.timeMs)
        if (Result.isFailure(decision)) return Effect.succeed({ _tag: "Rejected", error: decision.failure })
        const events = decision.success
        if (events.length === 0) {
          // Nothing happened (the server settling a session with nothing due): nothing to write.
          return Effect.succeed(decided({
            state: basis.state,
            events,
            version: basis.version,
            lastEventId: basis.lastEventId,
            serverTimeMs: basis.timeMs,
            replayed: false
          }))
        }

        const after = events.reduce<SessionState | null>(evolve, basis.state)
        const newEvents = events.map((event, i) => toNewEvent(event, basis.version + i + 1))
        const version = basis.version + newEvents.length
        const ended = after === null || isTerminal(after.status)
        const outcome: Outcome = { state: after, events, version, lastEventId: "", serverTimeMs: basis.timeMs, replayed: false }
        // Encoded once: the new snapshot, and the idempotency record's state.
        const encodedState = after === null ? "" : encodeState(after)
        return Effect.map(
          store.commit({
            sessionId,
            expectedVersion: basis.version,
            expectedLastEventId: basis.lastEventId,
            decidedAtMs: basis.cached ? basis.timeMs : undefined,
            events: newEvents,
            state: after === null ? null : encodedState,
            ended,
            deadlineMs: after === null ? null : dueAtOf(after),
            idempotency: idempotency === undefined
              ? null
              : { key: storedKeyOf(idempotency), fingerprint: idempotency.fingerprint, body: encodeOutcome(outcome, encodedState) }
          }),
          (committed): Attempt => {
            if (committed._tag !== "Committed") return committed
            const lastEventId = committed.eventIds.at(-1) ?? ""
            // Nothing is decided on an ended session but its rejection, and the load path serves that.
            cache.remember(sessionId, after === null || ended ? null : { version, lastEventId, state: after })
            return decided({ ...outcome, lastEventId })
          }
        )
      }

      /**
       * Decided on the cached snapshot at the ServerClock's time, saving the load round trip. Only a
       * commit counts: anything else (no snapshot here, a rejection or no-op that a stale snapshot may
       * explain, the session having moved on) leaves the command to the load path (undefined).
       */
      const attemptCached = (sessionId: string, command: Command, options: CommandOptions) =>
        Effect.suspend((): Effect.Effect<Outcome | undefined, RedisUnavailable> => {
          // A retried request must find its first outcome before anything is decided: the load reads it.
          if (options.idempotency !== undefined) return toLoadPath
          const cached = cache.get(sessionId)
          if (cached === undefined) return toLoadPath
          if (options.expectedVersion !== undefined && options.expectedVersion !== cached.version) return toLoadPath
          const { state, version, lastEventId } = cached
          return clock.nowMs.pipe(
            Effect.flatMap((timeMs) => decideAndCommit(sessionId, command, undefined, { state, version, lastEventId, timeMs, cached: true })),
            Effect.map((attempt) => {
              if (attempt._tag === "Decided" && attempt.outcome.events.length > 0) return attempt.outcome
              if (attempt._tag === "Conflict" || attempt._tag === "Stale") cache.forget(sessionId)
              return undefined
            })
          )
        })

      /** Decided on a fresh load; undefined when the commit lost a race that the next attempt may win. */
      const attemptLoaded = Effect.fnUntraced(function*(sessionId: string, command: Command, options: CommandOptions) {
        const { idempotency, expectedVersion } = options
        const loaded = yield* store.load(sessionId, idempotency === undefined ? undefined : storedKeyOf(idempotency))
        if (loaded.idempotent !== null && idempotency !== undefined) return yield* replay(loaded.idempotent, idempotency)
        if (expectedVersion !== undefined && expectedVersion !== loaded.version) {
          return yield* new VersionConflict({ expectedVersion, currentVersion: loaded.version })
        }
        const attempt = yield* decideAndCommit(sessionId, command, idempotency, {
          state: loaded.state === null ? null : decodeState(loaded.state),
          version: loaded.version,
          lastEventId: loaded.lastEventId ?? "",
          timeMs: loaded.serverTimeMs,
          cached: false
        })
        switch (attempt._tag) {
          case "Decided":
            return attempt.outcome
          case "Rejected":
            return yield* attempt.error
          case "Replayed":
            // Only a commit that carried an idempotency key can meet its record.
            return yield* replay(attempt.record, idempotency!)
          case "Conflict":
            if (expectedVersion !== undefined) {
              return yield* new VersionConflict({ expectedVersion, currentVersion: attempt.currentVersion })
            }
            return undefined
          case "Stale":
            return undefined
        }
      })

      const attemptLoads = Effect.fnUntraced(function*(sessionId: string, command: Command, options: CommandOptions) {
        for (let n = 1; n <= commandMaxAttempts; n++) {
          const outcome = yield* attemptLoaded(sessionId, command, options)
          if (outcome !== undefined) return outcome
          if (n < commandMaxAttempts) yield* Effect.sleep(retryDelayMs(n))
        }
        return yield* new ContentionExceeded({ attempts: commandMaxAttempts })
      })

      // Untraced (no tracer is installed to receive spans), and no generator on the cached path.
      const execute = (sessionId: string, command: Command, options: CommandOptions = {}) =>
        serialized(
          sessionId,
          Effect.flatMap(
            attemptCached(sessionId, command, options),
            (fast) => fast === undefined ? attemptLoads(sessionId, command, options) : Effect.succeed(fast)
          )
        )

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
