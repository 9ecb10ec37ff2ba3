import { Context, Effect, Layer, Schema } from "effect"
import { createPool, type DatabasePool, type FragmentSqlToken, type Interceptor, type QueryResultRow, sql } from "slonik"
import { z } from "zod"
import { type AuditBatch, compareEventOrder } from "../audit/AuditBatch.ts"
import { AuditSettings } from "../audit/AuditSettings.ts"
import { ensureDatabase, migrate } from "./MigrationRunner.ts"
import { sessionRowsOf } from "./sessionRows.ts"

export class AuditUnavailable extends Schema.TaggedError<AuditUnavailable>()("AuditUnavailable", {
  message: Schema.String
}) {}

export interface WriteResult {
  /** Rows new to `session_events`. */
  readonly inserted: number
  /** Events already there, as delivered before: a redelivery. */
  readonly duplicates: number
  /**
   * Events whose (session, incarnation, version) is there with another event id: a session audited
   * before incarnations were recorded, deleted and created again under its id by that older code.
   */
  readonly conflicts: number
}

/** An event read back from the audit, in the shape the session stream gives. */
export interface ArchivedEvent {
  readonly id: string
  readonly version: number
  readonly type: string
  readonly at: number
  /** JSON. */
  readonly payload: string
}

export interface ArchivedSession {
  /** Null when the session was deleted. */
  readonly state: string | null
  readonly status: string
  readonly lastVersion: number
  readonly lastEventId: string
}

export interface EventPage {
  /** Only versions strictly between these bounds. */
  readonly afterVersion: number
  readonly beforeVersion: number
  readonly order: "asc" | "desc"
  readonly limit: number
}

const EventRow = z.object({
  event_id: z.string(),
  version: z.number().int(),
  type: z.string(),
  at_ms: z.number(),
  payload: z.string()
})

const SessionRowRead = z.object({
  status: z.string(),
  last_version: z.number().int(),
  last_event_id: z.string(),
  snapshot: z.string().nullable()
})

const Count = z.object({ n: z.number().int() })

/** Checks every row of a query built with `sql.type(schema)` against that schema. */
const resultParser: Interceptor = {
  name: "synckairos/resultParser",
  transformRow: (context, _query, row) =>
    context.resultParser === undefined ? row : context.resultParser.parse(row) as QueryResultRow
}

const EPOCH = sql.fragment`timestamptz 'epoch'`
const fromMs = (column: string) => sql.fragment`${EPOCH} + ${sql.identifier(["r", column])} * interval '1 millisecond'`

/** The batch's events, sorted so that concurrent jobs take the rows they share in the same order. */
const insertEvents = (batch: AuditBatch) => {
  const sorted = [...batch.events].sort((a, b) =>
    a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : compareEventOrder(a, b)
  )
  return sql.fragment`
    INSERT INTO session_events (session_id, incarnation, version, event_id, type, at, payload)
    SELECT r.session_id, r.incarnation, r.version, r.event_id, r.type, ${fromMs("at_ms")}, r.payload
    FROM ${
    sql.unnest(
      sorted.map((e) => [e.sessionId, e.incarnation, e.version, e.eventId, e.type, e.at, e.payload]),
      ["uuid", "text", "int4", "text", "text", "int8", "jsonb"]
    )
  } AS r(session_id, incarnation, version, event_id, type, at_ms, payload)
    ON CONFLICT (session_id, incarnation, version) DO NOTHING
    RETURNING 1`
}

const countConflicts = (batch: AuditBatch) =>
  sql.type(Count)`
    SELECT count(*)::int4 AS n
    FROM session_events e
    JOIN ${sql.unnest(batch.events.map((e) => [e.sessionId, e.incarnation, e.version, e.eventId]), ["uuid", "text", "int4", "text"])}
      AS r(session_id, incarnation, version, event_id) USING (session_id, incarnation, version)
    WHERE e.event_id <> r.event_id`

/**
 * The row follows the newest incarnation of the session id: a newer one replaces it, an older one
 * (a late batch) leaves it alone. Within one incarnation, fields fixed at creation are filled once;
 * the state fields follow the newest snapshot and the last-event fields the highest version, whatever
 * order batches arrive in (retries, concurrent jobs).
 */
const upsertSessions = (batch: AuditBatch) => {
  // The WHERE below leaves an older incarnation's row alone, so where SET applies, another
  // incarnation is a newer one: a text comparison, where the order itself costs two function calls.
  const newer = sql.fragment`excluded.incarnation <> s.incarnation`
  /** SET `column` to a newer incarnation's value, else to `merged` (the same incarnation's rule). */
  const assign = (column: string, merged: FragmentSqlToken) =>
    sql.fragment`${sql.identifier([column])} = CASE WHEN ${newer} THEN ${sql.identifier(["excluded", column])} ELSE ${merged} END`
  return sql.fragment`
    INSERT INTO sessions AS s (session_id, incarnation, sync_mode, config, created_at, started_at, ended_at, deleted_at, status,
      last_version, last_event_id, last_event_at, snapshot_version, last_snapshot)
    SELECT r.session_id, r.incarnation, r.sync_mode, r.config, ${fromMs("created_ms")}, ${fromMs("started_ms")}, ${fromMs("ended_ms")},
      ${fromMs("deleted_ms")}, r.status, r.last_version, r.last_event_id, ${fromMs("last_at_ms")}, r.snapshot_version, r.snapshot
    FROM ${
    sql.unnest(
      sessionRowsOf(batch).map((row) => [
        row.sessionId,
        row.incarnation,
        row.syncMode,
        row.config,
        row.createdAt,
        row.startedAt,
        row.endedAt,
        row.deletedAt,
        row.status,
        row.lastVersion,
        row.lastEventId,
        row.lastEventAt,
        row.snapshotVersion,
        row.snapshot
      ]),
      ["uuid", "text", "text", "jsonb", "int8", "int8", "int8", "int8", "text", "int4", "text", "int8", "int4", "jsonb"]
    )
  } AS r(session_id, incarnation, sync_mode, config, created_ms, started_ms, ended_ms, deleted_ms, status, last_version,
      last_event_id, last_at_ms, snapshot_version, snapshot)
    ON CONFLICT (session_id) DO UPDATE SET
      ${assign("incarnation", sql.fragment`s.incarnation`)},
      ${assign("sync_mode", sql.fragment`coalesce(s.sync_mode, excluded.sync_mode)`)},
      ${assign("config", sql.fragment`coalesce(s.config, excluded.config)`)},
      ${assign("created_at", sql.fragment`coalesce(s.created_at, excluded.created_at)`)},
      ${assign("deleted_at", sql.fragment`coalesce(s.deleted_at, excluded.deleted_at)`)},
      ${assign("status", sql.fragment`CASE
        WHEN coalesce(s.deleted_at, excluded.deleted_at) IS NOT NULL THEN 'deleted'
        WHEN excluded.snapshot_version > coalesce(s.snapshot_version, 0) THEN excluded.status
        ELSE s.status END`)},
      ${assign("started_at", sql.fragment`CASE WHEN excluded.snapshot_version > coalesce(s.snapshot_version, 0) THEN excluded.started_at ELSE s.started_at END`)},
      ${assign("ended_at", sql.fragment`CASE WHEN excluded.snapshot_version > coalesce(s.snapshot_version, 0) THEN excluded.ended_at ELSE s.ended_at END`)},
      ${assign("last_snapshot", sql.fragment`CASE WHEN excluded.snapshot_version > coalesce(s.snapshot_version, 0) THEN excluded.last_snapshot ELSE s.last_snapshot END`)},
      ${assign("snapshot_version", sql.fragment`greatest(s.snapshot_version, excluded.snapshot_version)`)},
      ${assign("last_event_id", sql.fragment`CASE WHEN excluded.last_version > s.last_version THEN excluded.last_event_id ELSE s.last_event_id END`)},
      ${assign("last_event_at", sql.fragment`CASE WHEN excluded.last_version > s.last_version THEN excluded.last_event_at ELSE s.last_event_at END`)},
      ${assign("last_version", sql.fragment`greatest(s.last_version, excluded.last_version)`)}
    WHERE incarnation_order(excluded.incarnation) >= incarnation_order(s.incarnation)`
}

/**
 * The whole batch in one statement, atomic without a transaction of its own: one round trip, and
 * none of the BEGIN and COMMIT statements' cost. The main query reads the events' insert, so it runs
 * first; the sessions' upsert, which nothing reads, runs after it (PostgreSQL runs such a statement
 * to completion once the main query is done): every job takes its rows in the same order, events
 * then sessions, each sorted.
 */
const writeEvents = (batch: AuditBatch) =>
  sql.type(Count)`
    WITH inserted AS (${insertEvents(batch)}), upserted AS (${upsertSessions(batch)})
    SELECT count(*)::int4 AS n FROM inserted`

const unavailable = (cause: unknown) =>
  new AuditUnavailable({ message: cause instanceof Error ? cause.message : String(cause) })

/**
 * The PostgreSQL audit: idempotent batch writes for the worker, history and archived sessions for
 * the API. Building the layer never waits for PostgreSQL: an instance must start, and serve
 * commands, while it is down. The pool (and, with autoMigrate, the database and its migrations) is set
 * up in the background at start and again by each call until it succeeds; until then every call fails
 * with AuditUnavailable.
 */
export class AuditRepository extends Context.Service<AuditRepository, {
  readonly writeBatch: (batch: AuditBatch) => Effect.Effect<WriteResult, AuditUnavailable>
  readonly events: (sessionId: string, page: EventPage) => Effect.Effect<ReadonlyArray<ArchivedEvent>, AuditUnavailable>
  /** The last audited state of a session; null when the audit has never heard of it. */
  readonly session: (sessionId: string) => Effect.Effect<ArchivedSession | null, AuditUnavailable>
  readonly ping: Effect.Effect<void, AuditUnavailable>
}>()("synckairos/infra/AuditRepository") {
  static readonly layer: Layer.Layer<AuditRepository, never, AuditSettings> = Layer.effect(
    AuditRepository,
    Effect.gen(function*() {
      const settings = yield* AuditSettings
      let pool: Promise<DatabasePool> | undefined

      const open = async () => {
        if (settings.autoMigrate) {
          await ensureDatabase(settings.databaseUrl)
          await migrate(settings.databaseUrl)
        }
        return createPool(settings.databaseUrl, {
          // The worker's jobs, plus a little room for history reads and health checks.
          maximumPoolSize: settings.workerConcurrency + 2,
          connectionTimeout: 5000,
          statementTimeout: 30_000,
          // Nothing run on these connections changes their state (no SET, no prepared statement, no
          // temporary table): the DISCARD ALL slonik runs on every release would be one more statement per job.
          resetConnection: async () => {},
          interceptors: [resultParser]
        })
      }
      const connected = () => {
        pool ??= open().catch((error: unknown) => {
          pool = undefined
          throw error
        })
        return pool
      }
      yield* Effect.addFinalizer(() =>
        pool === undefined ? Effect.void : Effect.promise(() => pool!.then((p) => p.end(), () => undefined))
      )

      const use = <A>(f: (pool: DatabasePool) => Promise<A>) =>
        Effect.tryPromise({ try: () => connected().then(f), catch: unavailable })

      const writeBatch = Effect.fn("AuditRepository.writeBatch")(function*(batch: AuditBatch) {
        return yield* use(async (db) => {
          const { n: inserted } = await db.one(writeEvents(batch))
          const missing = batch.events.length - inserted
          // Only a redelivery (or a collision) leaves events out: then tell the two apart.
          const conflicts = missing === 0 ? 0 : (await db.one(countConflicts(batch))).n
          return { inserted, duplicates: missing - conflicts, conflicts }
        })
      })

      const events = Effect.fn("AuditRepository.events")(function*(sessionId: string, page: EventPage) {
        const rows = yield* use((db) =>
          db.any(sql.type(EventRow)`
            SELECT event_id, version, type, (extract(epoch FROM at) * 1000)::float8 AS at_ms, payload::text AS payload
            FROM session_events
            WHERE session_id = ${sessionId} AND version > ${page.afterVersion} AND version < ${page.beforeVersion}
              -- The newest session of this id, which the sessions row follows.
              AND incarnation = (SELECT incarnation FROM sessions WHERE session_id = ${sessionId})
            ORDER BY version ${page.order === "asc" ? sql.fragment`ASC` : sql.fragment`DESC`}
            LIMIT ${page.limit}`)
        )
        return rows.map((row) => ({ id: row.event_id, version: row.version, type: row.type, at: row.at_ms, payload: row.payload }))
      })

      const session = Effect.fn("AuditRepository.session")(function*(sessionId: string) {
        const row = yield* use((db) =>
          db.maybeOne(sql.type(SessionRowRead)`
            SELECT status, last_version, last_event_id, CASE WHEN status = 'deleted' THEN NULL ELSE last_snapshot::text END AS snapshot
            FROM sessions WHERE session_id = ${sessionId}`)
        )
        return row === null
          ? null
          : { state: row.snapshot, status: row.status, lastVersion: row.last_version, lastEventId: row.last_event_id }
      })

      const ping = use((db) => db.query(sql.unsafe`SELECT 1`)).pipe(Effect.asVoid)
      // Connect (and migrate) at boot when PostgreSQL is up, rather than on the first batch or read.
      yield* Effect.forkScoped(Effect.ignore(ping))

      return AuditRepository.of({ writeBatch, events, session, ping })
    })
  )
}
