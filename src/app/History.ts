import { Context, Effect, Layer } from "effect"
import { SessionNotFound, type SessionState } from "../domain/index.ts"
import { type StoredEvent, toStoredEvent } from "../infra/EventStore.ts"
import { makeKeySchema } from "../infra/keys.ts"
import { AuditRepository, type AuditUnavailable } from "../infra/pg/AuditRepository.ts"
import { RedisClient, type RedisUnavailable } from "../infra/RedisClient.ts"
import { ServerClock } from "../infra/ServerClock.ts"
import { StoreSettings } from "../infra/StoreSettings.ts"
import { decodeState } from "./sessionCodec.ts"

export interface HistoryQuery {
  readonly order: "asc" | "desc"
  /** Only versions above this one. */
  readonly afterVersion: number | undefined
  /** Only versions below this one. */
  readonly beforeVersion: number | undefined
  readonly limit: number
}

export interface HistoryPage {
  /** The session has left Redis: everything comes from the audit. */
  readonly archived: boolean
  readonly events: ReadonlyArray<StoredEvent>
  /** The query bound that fetches the next page in the same order; null on the last page. */
  readonly next: { readonly afterVersion: number } | { readonly beforeVersion: number } | null
}

/** A session that has left Redis, as the audit last saw it. */
export interface ArchivedRead {
  readonly state: SessionState
  readonly lastEventId: string
  readonly serverTimeMs: number
}

export type HistoryError = SessionNotFound | RedisUnavailable | AuditUnavailable

/** Versions are int4 in PostgreSQL: "no upper bound" is its largest value. */
const NO_UPPER_BOUND = 2_147_483_647

/**
 * A session's events and its last state, wherever they are. While the session lives, its Redis
 * stream serves them (contiguous versions, so a page is found by counting from either end); the
 * versions the stream was trimmed of, and everything once the session has left Redis, come from the
 * PostgreSQL audit. A page never mixes the two sources; `next` leads from one to the other.
 */
export class History extends Context.Service<History, {
  readonly events: (sessionId: string, query: HistoryQuery) => Effect.Effect<HistoryPage, HistoryError>
  /** The last audited state of a session no longer in Redis; SessionNotFound when there is none or it was deleted. */
  readonly archived: (sessionId: string) => Effect.Effect<ArchivedRead, SessionNotFound | AuditUnavailable>
}>()("synckairos/app/History") {
  static readonly layer = Layer.effect(
    History,
    Effect.gen(function*() {
      const redis = yield* RedisClient
      const keys = makeKeySchema(yield* StoreSettings)
      const audit = yield* AuditRepository
      const clock = yield* ServerClock

      /** One page of the audit between two exclusive bounds; a row past `limit` says there is more. */
      const fromAudit = Effect.fnUntraced(function*(sessionId: string, order: "asc" | "desc", after: number, before: number, limit: number) {
        const rows = yield* audit.events(sessionId, { afterVersion: after, beforeVersion: before, order, limit: limit + 1 })
        return { events: rows.slice(0, limit), more: rows.length > limit }
      })

      const nextOf = (order: "asc" | "desc", events: ReadonlyArray<StoredEvent>): HistoryPage["next"] => {
        const last = events.at(-1)
        if (last === undefined) return null
        return order === "asc" ? { afterVersion: last.version } : { beforeVersion: last.version }
      }

      const archivedPage = Effect.fnUntraced(function*(sessionId: string, query: HistoryQuery, after: number, before: number) {
        const { events, more } = yield* fromAudit(sessionId, query.order, after, before, query.limit)
        if (events.length === 0 && (yield* audit.session(sessionId)) === null) return yield* new SessionNotFound({ sessionId })
        return { archived: true, events, next: more ? nextOf(query.order, events) : null }
      })

      const events = Effect.fn("History.events")(function*(sessionId: string, query: HistoryQuery) {
        const key = keys.session(sessionId).events
        const after = query.afterVersion ?? 0
        const before = query.beforeVersion ?? NO_UPPER_BOUND
        const [first, last] = yield* redis.use((c) => Promise.all([c.xrange(key, "-", "+", "COUNT", 1), c.xrevrange(key, "+", "-", "COUNT", 1)]))
        if (first[0] === undefined || last[0] === undefined) return yield* archivedPage(sessionId, query, after, before)
        const firstVersion = toStoredEvent(first[0]).version
        const lastVersion = toStoredEvent(last[0]).version

        // The first version this page wants, and whether the stream still holds it.
        const wanted = query.order === "asc" ? after + 1 : Math.min(before - 1, lastVersion)
        if (wanted < firstVersion) {
          if (query.order === "desc") {
            const page = yield* fromAudit(sessionId, "desc", after, wanted + 1, query.limit)
            return { archived: false, events: page.events, next: page.more ? nextOf("desc", page.events) : null }
          }
          const page = yield* fromAudit(sessionId, "asc", after, Math.min(before, firstVersion), query.limit)
          // The audit's part ends where the stream begins: the next page is the stream's.
          const next = page.more ? nextOf("asc", page.events) : firstVersion < before ? { afterVersion: firstVersion - 1 } : null
          return { archived: false, events: page.events, next }
        }

        const skip = query.order === "asc" ? wanted - firstVersion : lastVersion - wanted
        const count = skip + query.limit + 1
        const raw = yield* redis.use((c) =>
          query.order === "asc" ? c.xrange(key, "-", "+", "COUNT", count) : c.xrevrange(key, "+", "-", "COUNT", count)
        )
        const inRange = raw.slice(skip).map(toStoredEvent).filter((e) => e.version > after && e.version < before)
        const page = inRange.slice(0, query.limit)
        const lowest = page.at(-1)?.version
        // Descending past the stream's first event continues in the audit.
        const more = inRange.length > query.limit ||
          (query.order === "desc" && lowest !== undefined && lowest === firstVersion && firstVersion > after + 1)
        return { archived: false, events: page, next: more ? nextOf(query.order, page) : null }
      })

      const archived = Effect.fn("History.archived")(function*(sessionId: string) {
        const row = yield* audit.session(sessionId)
        if (row === null || row.state === null) return yield* new SessionNotFound({ sessionId })
        return { state: decodeState(row.state), lastEventId: row.lastEventId, serverTimeMs: yield* clock.nowMs }
      })

      return History.of({ events, archived })
    })
  )
}
