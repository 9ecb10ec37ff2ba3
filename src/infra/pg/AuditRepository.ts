import { Context, Effect, Layer, Schema } from "effect"
import { createPool, type DatabasePool, type Interceptor, type PrimitiveValueExpression, type QueryResultRow, sql } from "slonik"
import { z } from "zod"
import { type AuditBatch, type AuditEvent, compareEventOrder } from "../audit/AuditBatch.ts"
import { compareStreamIds } from "../streamIds.ts"
import { AuditSettings } from "../audit/AuditSettings.ts"
import { ensureDatabase, migrate } from "./MigrationRunner.ts"
import { type SessionRow, sessionRowsOf } from "./sessionRows.ts"

export class AuditUnavailable extends Schema.TaggedError<AuditUnavailable>()("AuditUnavailable", {
  message: Schema.String
}) {}

export interface WriteResult {
  /** Rows new to `session_events`. */
  readonly inserted: number
  /** Events already there, as delivered before: a redelivery. */
  readonly duplicates: number
  /**
   * Events whose (session, incarnation, version) is there with another event id: Redis lost commits
   * the audit had already taken (a failover to a replica that lacked them) and the session went on
   * from its older state, committing those versions again. The audit keeps the first.
   */
  readonly conflicts: number
}

/** An event read back from the audit, in the shape EventStore's reads give. */
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
const IncarnationRow = z.object({ session_id: z.string(), incarnation: z.string() })

/** Checks every row of a query built with `sql.type(schema)` against that schema. */
const resultParser: Interceptor = {
  name: "synckairos/resultParser",
  transformRow: (context, _query, row) =>
    context.resultParser === undefined ? row : context.resultParser.parse(row) as QueryResultRow
}

/** The batch's events the audit holds under another event id (see WriteResult.conflicts). */
const countConflicts = (batch: AuditBatch) =>
  sql.type(Count)`
    SELECT count(*)::int4 AS n
    FROM session_events e
    JOIN ${sql.unnest(batch.events.map((e) => [e.sessionId, e.incarnation, e.version, e.eventId]), ["uuid", "text", "int4", "text"])}
      AS r(session_id, incarnation, version, event_id) USING (session_id, incarnation, version)
    WHERE e.event_id <> r.event_id`

type Column<Row> = readonly [type: "uuid" | "text" | "int4" | "int8" | "jsonb", value: (row: Row) => PrimitiveValueExpression]

/** One array parameter per column of `rows`. */
const columns = <Row>(rows: ReadonlyArray<Row>, spec: ReadonlyArray<Column<Row>>) =>
  sql.join(spec.map(([type, value]) => sql.array(rows.map(value), type)), sql.fragment`, `)

// Both in the order of audit_write_batch's parameters.
const EVENT_COLUMNS: ReadonlyArray<Column<AuditEvent>> = [
  ["uuid", (e) => e.sessionId],
  ["text", (e) => e.incarnation],
  ["int4", (e) => e.version],
  ["text", (e) => e.eventId],
  ["text", (e) => e.type],
  ["int8", (e) => e.at],
  ["jsonb", (e) => e.payload]
]

const SESSION_COLUMNS: ReadonlyArray<Column<SessionRow>> = [
  ["uuid", (row) => row.sessionId],
  ["text", (row) => row.incarnation],
  ["text", (row) => row.syncMode],
  ["jsonb", (row) => row.config],
  ["int8", (row) => row.createdAt],
  ["int8", (row) => row.startedAt],
  ["int8", (row) => row.endedAt],
  ["int8", (row) => row.deletedAt],
  ["text", (row) => row.status],
  ["int4", (row) => row.lastVersion],
  ["text", (row) => row.lastEventId],
  ["int8", (row) => row.lastEventAt],
  ["int4", (row) => row.snapshotVersion],
  ["jsonb", (row) => row.snapshot]
]

/**
 * The whole batch in one short statement, atomic without a transaction of its own, written by
 * `audit_write_batch` (migration 0004), which keeps its plans; it returns the events new to the audit.
 * The events are sorted by session, incarnation and version, the sessions rows by session id, so
 * that concurrent jobs take the rows they share in the same order.
 */
const writeBatchStatement = (batch: AuditBatch) => {
  const events = [...batch.events].sort((a, b) =>
    a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : compareEventOrder(a, b)
  )
  return sql.type(Count)`
    SELECT audit_write_batch(${columns(events, EVENT_COLUMNS)}, ${columns(sessionRowsOf(batch), SESSION_COLUMNS)}) AS n`
}

/**
 * Sessions created before incarnations existed have none in Redis (""), and migration 0003 refuses
 * such rows. Their incarnation is the one the audit already knows them by (0003 named them after their
 * first audited event), else their first event in this batch. The batch as it was when nothing is unnamed.
 */
const namingUnnamed = async (db: DatabasePool, batch: AuditBatch): Promise<AuditBatch> => {
  const unnamed = [...new Set([...batch.events, ...batch.snapshots].filter((x) => x.incarnation === "").map((x) => x.sessionId))]
  if (unnamed.length === 0) return batch
  const known = await db.any(sql.type(IncarnationRow)`
    SELECT session_id, incarnation FROM sessions WHERE session_id = ANY(${sql.array(unnamed, "uuid")})`)
  const names = new Map(known.map((row) => [row.session_id, row.incarnation]))
  // The rest are named after their first unnamed event in the batch: one pass keeps the earliest id.
  const firsts = new Map<string, string>()
  for (const event of batch.events) {
    if (event.incarnation !== "" || names.has(event.sessionId)) continue
    const first = firsts.get(event.sessionId)
    if (first === undefined || compareStreamIds(event.eventId, first) < 0) firsts.set(event.sessionId, event.eventId)
  }
  for (const [sessionId, eventId] of firsts) names.set(sessionId, eventId)
  const named = <T extends { readonly sessionId: string; readonly incarnation: string }>(x: T): T =>
    x.incarnation === "" && names.has(x.sessionId) ? { ...x, incarnation: names.get(x.sessionId)! } : x
  return { events: batch.events.map(named), snapshots: batch.snapshots.map(named) }
}

const unavailable = (cause: unknown) =>
  new AuditUnavailable({ message: cause instanceof Error ? cause.message : String(cause) })

/**
 * The PostgreSQL audit: idempotent batch writes for the worker, history and archived sessions for
 * the API. Building the layer never waits for PostgreSQL: an instance must start, and serve
 * commands, while it is down. The pool (and, with databaseAutoMigrate, the database and its migrations) is set
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
        if (settings.databaseAutoMigrate) {
          await ensureDatabase(settings.databaseUrl)
          await migrate(settings.databaseUrl)
        }
        return createPool(settings.databaseUrl, {
          // The worker's jobs, plus a little room for history reads and health checks.
          maximumPoolSize: settings.auditWorkerConcurrency + 2,
          connectionTimeout: 5000,
          statementTimeout: 30_000,
          // Nothing run on these connections changes their state (no SET, no prepared statement, no
          // temporary table): the DISCARD ALL slonik runs on every release would be one more statement
          // per job, and would drop the plans audit_write_batch keeps.
          resetConnection: async () => {},
          // A connection is kept while jobs trickle in: a new one costs a backend, and its first job
          // plans audit_write_batch's statements again.
          idleTimeout: 600_000,
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

      const writeBatch = Effect.fn("AuditRepository.writeBatch")(function*(delivered: AuditBatch) {
        return yield* use(async (db) => {
          const batch = await namingUnnamed(db, delivered)
          const { n: inserted } = await db.one(writeBatchStatement(batch))
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
