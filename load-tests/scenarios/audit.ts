/**
 * The audit path under load: how fast the projector and writer move a backlog of events into
 * PostgreSQL, and how far behind the commits the audit stays under a steady command rate. Events are
 * turn switches on the shared session fixture (one event each); every number comes from PostgreSQL:
 * `recorded_at` (when the row was written) against the commit time in the event's stream id.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import pg from "pg"
import type { Dispatcher } from "undici"
import { runOpenLoop } from "../harness/openLoop.ts"
import { Recorder, send } from "../harness/request.ts"
import type { SessionFixture } from "./sessions.ts"

export const BACKLOG_EVENTS = 60_000
export const BACKLOG_CONNECTIONS = 50
export const LAG_RATE_PER_SEC = 2000
export const LAG_DURATION_S = 20
/** Connections of the steady run's open loop; far above rate × latency, so starts never queue. */
export const LAG_CONNECTIONS = 256

/** Sends exactly `count` switches round-robin over the sessions, `connections` at a time; returns those answered 2xx. */
export const sendSwitches = async (dispatcher: Dispatcher, fixture: SessionFixture, count: number, connections: number) => {
  const recorder = new Recorder()
  let next = 0
  await Promise.all(Array.from({ length: connections }, async () => {
    for (let seq = next++; seq < count; seq = next++) {
      await send(dispatcher, fixture.switchRequests[seq % fixture.switchRequests.length]!, seq, performance.now(), recorder, undefined)
    }
  }))
  return recorder.snapshot()
}

/** A steady open-loop rate of switches; the latency is the commands', for the audit's effect on them. */
export const steadySwitches = (dispatcher: Dispatcher, fixture: SessionFixture, ratePerSec: number, durationMs: number) =>
  runOpenLoop({
    dispatcher,
    ratePerSec,
    durationMs,
    connections: LAG_CONNECTIONS,
    source: (seq) => fixture.switchRequests[seq % fixture.switchRequests.length]!
  })

export interface Projection {
  readonly events: number
  /** From the first to the last row written, ms. */
  readonly spanMs: number
  /** When the last row was written, epoch ms. */
  readonly lastMs: number
  readonly eventsPerSec: number
  /** Per event: recorded_at minus its commit instant, ms. */
  readonly lagMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number }
}

/** Creates and migrates the bench's database the way an operator would: `npm run migrate`'s entry point. */
export const createBenchDatabase = async (repoRoot: string, url: string): Promise<void> => {
  await promisify(execFile)(process.execPath, ["--import", "tsx", "src/app/migrate.ts"], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: url }
  })
}

export const dropBenchDatabase = async (url: string): Promise<void> => {
  const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: "/postgres" }).toString() })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`).finally(() => admin.end())
}

/** The audit database of a bench run, read with plain SQL. */
export const auditDatabase = (url: string) => {
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  const count = async () => (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM session_events")).rows[0]!.n
  return {
    count,
    /** Polls until the table holds `expected` rows; false when `timeoutMs` passed first. */
    waitForCount: async (expected: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        if ((await count()) >= expected) return true
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      return false
    },
    /** What was written from `sinceMs` (epoch ms) on. */
    projectedSince: async (sinceMs: number): Promise<Projection> => {
      const row = (await pool.query(`
        WITH rows AS (
          SELECT extract(epoch FROM recorded_at) * 1000 AS recorded_ms,
                 extract(epoch FROM recorded_at) * 1000 - split_part(event_id, '-', 1)::bigint AS lag_ms
          FROM session_events WHERE recorded_at >= to_timestamp($1 / 1000.0))
        SELECT count(*)::int AS events, (max(recorded_ms) - min(recorded_ms))::float8 AS span_ms, max(recorded_ms)::float8 AS last_ms,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY lag_ms) AS lag, max(lag_ms)::float8 AS lag_max
        FROM rows`, [sinceMs])).rows[0] as {
        events: number
        span_ms: number | null
        last_ms: number | null
        lag: Array<number> | null
        lag_max: number | null
      }
      const spanMs = row.span_ms ?? 0
      const lag = row.lag ?? [0, 0, 0]
      const round = (x: number) => Math.round(x * 10) / 10
      return {
        events: row.events,
        spanMs: round(spanMs),
        lastMs: row.last_ms ?? sinceMs,
        eventsPerSec: spanMs > 0 ? Math.round((row.events * 1000) / spanMs) : 0,
        lagMs: { p50: round(lag[0]!), p95: round(lag[1]!), p99: round(lag[2]!), max: round(row.lag_max ?? 0) }
      }
    },
    close: () => pool.end()
  }
}
