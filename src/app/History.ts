import { Context, Effect, Layer } from "effect"
import { SessionNotFound, type SessionState } from "../domain/index.ts"
import { EventStore, type StoredEvent } from "../infra/EventStore.ts"
import { AuditRepository, type AuditUnavailable } from "../infra/pg/AuditRepository.ts"
import type { RedisUnavailable } from "../infra/RedisClient.ts"
import { ServerClock } from "../infra/ServerClock.ts"
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
 * A session's events and its last state, wherever they are. While the session lives, Redis serves
 * those it still holds (contiguous versions, so a page is found by counting from either end); the
 * older versions, and everything once the session has left Redis, come from the PostgreSQL audit. A
 * page never mixes the two sources; `next` leads from one to the other.
 */
export class History extends Context.Service<History, {
  readonly events: (sessionId: string, query: HistoryQuery) => Effect.Effect<HistoryPage, HistoryError>
  /**
   * A live session's events from its first, oldest first: those Redis holds, preceded by the audit's
   * when Redis no longer holds the session's creation. The audit may lack some of those (not written
   * yet, or a previous session under the same id): callers check that the versions join up. Empty
   * once the session has left Redis.
   */
  readonly fromStart: (sessionId: string) => Effect.Effect<ReadonlyArray<StoredEvent>, RedisUnavailable | AuditUnavailable>
  /** The last audited state of a session no longer in Redis; SessionNotFound when there is none or it was deleted. */
  readonly archived: (sessionId: string) => Effect.Effect<ArchivedRead, SessionNotFound | AuditUnavailable>
}>()("synckairos/app/History") {
  static readonly layer = Layer.effect(
    History,
    Effect.gen(function*() {
      const store = yield* EventStore
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

      /**
       * The versions of the oldest and newest events Redis holds; when it holds none of those its index
       * lists, the empty range after them. Undefined once the session has left Redis.
       */
      const indexEnds = Effect.fnUntraced(function*(sessionId: string) {
        const [first, last] = yield* Effect.all([store.readEvents(sessionId, { count: 1 }), store.readLatestEvents(sessionId, 1)], {
          concurrency: 2
        })
        if (first[0] !== undefined && last[0] !== undefined) return { firstVersion: first[0].version, lastVersion: last[0].version }
        const listed = yield* store.lastListedVersion(sessionId)
        return listed === null ? undefined : { firstVersion: listed + 1, lastVersion: listed }
      })

      const events = Effect.fn("History.events")(function*(sessionId: string, query: HistoryQuery) {
        const after = query.afterVersion ?? 0
        const before = query.beforeVersion ?? NO_UPPER_BOUND
        const ends = yield* indexEnds(sessionId)
        if (ends === undefined) return yield* archivedPage(sessionId, query, after, before)
        const { firstVersion, lastVersion } = ends

        // The first version this page wants, and whether Redis still holds it.
        const wanted = query.order === "asc" ? after + 1 : Math.min(before - 1, lastVersion)
        if (wanted < firstVersion) {
          if (query.order === "desc") {
            const page = yield* fromAudit(sessionId, "desc", after, wanted + 1, query.limit)
            return { archived: false, events: page.events, next: page.more ? nextOf("desc", page.events) : null }
          }
          const page = yield* fromAudit(sessionId, "asc", after, Math.min(before, firstVersion), query.limit)
          // The audit's part ends where Redis's begins: the next page is Redis's, if it holds any.
          const next = page.more
            ? nextOf("asc", page.events)
            : firstVersion <= lastVersion && firstVersion < before
            ? { afterVersion: firstVersion - 1 }
            : null
          return { archived: false, events: page.events, next }
        }

        const skip = query.order === "asc" ? wanted - firstVersion : lastVersion - wanted
        const count = skip + query.limit + 1
        const read = yield* (query.order === "asc" ? store.readEvents(sessionId, { count }) : store.readLatestEvents(sessionId, count))
        const inRange = read.slice(skip).filter((e) => e.version > after && e.version < before)
        const page = inRange.slice(0, query.limit)
        const lowest = page.at(-1)?.version
        // Descending past the first event Redis holds continues in the audit.
        const more = inRange.length > query.limit ||
          (query.order === "desc" && lowest !== undefined && lowest === firstVersion && firstVersion > after + 1)
        return { archived: false, events: page, next: more ? nextOf(query.order, page) : null }
      })

      const fromStart = Effect.fn("History.fromStart")(function*(sessionId: string) {
        const held = yield* store.readEvents(sessionId)
        const firstVersion = held[0]?.version ?? ((yield* store.lastListedVersion(sessionId)) ?? 0) + 1
        if (firstVersion === 1) return held
        const { events: audited } = yield* fromAudit(sessionId, "asc", 0, firstVersion, firstVersion - 1)
        return [...audited, ...held]
      })

      const archived = Effect.fn("History.archived")(function*(sessionId: string) {
        const row = yield* audit.session(sessionId)
        if (row === null || row.state === null) return yield* new SessionNotFound({ sessionId })
        return { state: decodeState(row.state), lastEventId: row.lastEventId, serverTimeMs: yield* clock.nowMs }
      })

      return History.of({ events, fromStart, archived })
    })
  )
}
