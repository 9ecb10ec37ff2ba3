import { Context, Effect, Layer } from "effect"
import { makeKeySchema } from "./keys.ts"
import { RedisClient, type RedisUnavailable } from "./RedisClient.ts"
import { commitScript, eventsScript, loadScript } from "./scripts.ts"
import { StoreSettings } from "./StoreSettings.ts"
import { type StoredEvent, toStoredEvent } from "./streamEntries.ts"

export { type StoredEvent, toStoredEvent } from "./streamEntries.ts"

export interface NewEvent {
  readonly type: string
  /** The session version this event produces (expectedVersion + 1, + 2, ...). */
  readonly version: number
  /** Epoch ms. */
  readonly at: number
  /** JSON. */
  readonly payload: string
}

export interface IdempotencyRecord {
  readonly fingerprint: string
  readonly lastEventId: string
  readonly body: string
}

export interface Loaded {
  /** Snapshot JSON; null when the session does not exist. */
  readonly state: string | null
  /** 0 when absent. */
  readonly version: number
  readonly lastEventId: string | null
  /** Redis TIME read inside the same script, integer epoch ms. */
  readonly serverTimeMs: number
  /** The stored record when an idempotency key was given and exists. */
  readonly idempotent: IdempotencyRecord | null
  /**
   * The session was deleted lately (its tombstone is kept as long as its index): it reads as deleted,
   * not as whatever earlier state the audit may still hold.
   */
  readonly deleted: boolean
}

export interface CommitRequest {
  readonly sessionId: string
  /** 0 = the session must not exist yet. */
  readonly expectedVersion: number
  /** At least one, versions expectedVersion + 1, + 2, ... */
  readonly events: ReadonlyArray<NewEvent>
  /** New snapshot JSON; null deletes the snapshot (the index is kept with the ended TTL for late readers). */
  readonly state: string | null
  /** The session reached a terminal status: its keys get the ended TTL. */
  readonly ended: boolean
  /** The session's next deadline (epoch ms); null (or a deleted session) removes it. */
  readonly deadlineMs: number | null
  readonly idempotency: { readonly key: string; readonly fingerprint: string; readonly body: string } | null
  /**
   * Last event id of the snapshot the events were decided on: with expectedVersion it names that
   * snapshot exactly, also when the session was deleted and created again. Absent: version only.
   */
  readonly expectedLastEventId?: string | undefined
  /**
   * The decision time, when it came from a local estimate of Redis time (ServerClock) rather than
   * from a load: the commit answers Stale unless it lies between the last commit and Redis's now.
   */
  readonly decidedAtMs?: number | undefined
}

export type CommitOutcome =
  | { readonly _tag: "Committed"; readonly version: number; readonly eventIds: ReadonlyArray<string> }
  | { readonly _tag: "Conflict"; readonly currentVersion: number }
  /** The version matched but not the snapshot, or the decision time was out of bounds: decide again on a load. */
  | { readonly _tag: "Stale" }
  | { readonly _tag: "Replayed"; readonly record: IdempotencyRecord }

export interface EventStoreShape {
  readonly shardOf: (sessionId: string) => number
  readonly load: (sessionId: string, idempotencyKey?: string) => Effect.Effect<Loaded, RedisUnavailable>
  readonly commit: (request: CommitRequest) => Effect.Effect<CommitOutcome, RedisUnavailable>
  /**
   * Oldest first; `afterVersion` is exclusive. The events still in Redis: the session index lists their
   * ids and the shard log holds them, and the index starts after the last whose log entry was trimmed.
   */
  readonly readEvents: (
    sessionId: string,
    options?: { readonly afterVersion?: number; readonly count?: number }
  ) => Effect.Effect<ReadonlyArray<StoredEvent>, RedisUnavailable>
  /** The `count` newest events still in Redis, newest first. */
  readonly readLatestEvents: (sessionId: string, count: number) => Effect.Effect<ReadonlyArray<StoredEvent>, RedisUnavailable>
  /**
   * The version of the newest event the session index lists, whether or not Redis still holds it (its
   * log entry may be trimmed); null when the index is empty or gone: the session has left Redis.
   */
  readonly lastListedVersion: (sessionId: string) => Effect.Effect<number | null, RedisUnavailable>
}

/** Versions must step by one from expectedVersion: anything else is a bug in the caller. */
const checkEventVersions = (request: CommitRequest): string | undefined => {
  if (request.events.length === 0) return "commit needs at least one event"
  const misnumbered = request.events.findIndex((event, i) => event.version !== request.expectedVersion + i + 1)
  return misnumbered === -1
    ? undefined
    : `event ${misnumbered} has version ${request.events[misnumbered]?.version}, expected ${
      request.expectedVersion + misnumbered + 1
    }`
}

export class EventStore extends Context.Service<EventStore, EventStoreShape>()("synckairos/infra/EventStore") {
  static readonly layer: Layer.Layer<EventStore, never, RedisClient | StoreSettings> = Layer.effect(
    EventStore,
    Effect.gen(function*() {
      const redis = yield* RedisClient
      const settings = yield* StoreSettings
      const keySchema = makeKeySchema(settings)

      const load = Effect.fnUntraced(function*(sessionId: string, idempotencyKey?: string) {
        return yield* redis.run(loadScript, { keys: keySchema.session(sessionId), idempotencyKey })
      })

      const commit = Effect.fnUntraced(function*(request: CommitRequest) {
        const invalid = checkEventVersions(request)
        if (invalid !== undefined) return yield* Effect.die(new Error(`EventStore.commit: ${invalid}`))
        return yield* redis.run(commitScript, {
          keys: keySchema.session(request.sessionId),
          expectedVersion: request.expectedVersion,
          events: request.events,
          state: request.state,
          ttlSeconds: request.ended || request.state === null
            ? settings.endedSessionTtlSeconds
            : settings.sessionTtlSeconds,
          deadlineMs: request.state === null ? null : request.deadlineMs,
          idempotency: request.idempotency === null
            ? null
            : { ...request.idempotency, ttlSeconds: settings.idempotencyTtlSeconds },
          resumeWindowMs: settings.resumeWindowMs,
          shardLogMaxLen: settings.shardLogMaxLen,
          expectedLastEventId: request.expectedLastEventId,
          decidedAtMs: request.decidedAtMs
        })
      })

      const readEvents = Effect.fn("EventStore.readEvents")(
        function*(sessionId: string, options?: { readonly afterVersion?: number; readonly count?: number }) {
          const entries = yield* redis.run(eventsScript, {
            keys: keySchema.session(sessionId),
            order: { _tag: "asc", afterVersion: options?.afterVersion },
            count: options?.count
          })
          return entries.map(toStoredEvent)
        }
      )

      const readLatestEvents = Effect.fn("EventStore.readLatestEvents")(function*(sessionId: string, count: number) {
        const entries = yield* redis.run(eventsScript, { keys: keySchema.session(sessionId), order: { _tag: "desc" }, count })
        return entries.map(toStoredEvent)
      })

      const lastListedVersion = Effect.fn("EventStore.lastListedVersion")(function*(sessionId: string) {
        const key = keySchema.session(sessionId).index
        const [, version] = yield* redis.use((connection) => connection.zrange(key, "-1", "-1", "WITHSCORES"))
        return version === undefined ? null : Number(version)
      })

      return EventStore.of({ shardOf: keySchema.shardOf, load, commit, readEvents, readLatestEvents, lastListedVersion })
    })
  )
}
