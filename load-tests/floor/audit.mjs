/**
 * The floor's audit (`FLOOR_AUDIT=1`, `npm run bench:system -- --floor-audit`): the least code that
 * keeps every event in PostgreSQL, so that the floor can be compared with the service as deployed,
 * audit included. One consumer group over every shard log, read with one XREADGROUP; what arrives
 * within the linger (300 ms, the service's default) is written in one statement: the events, and per
 * session its newest state; then acknowledged. No BullMQ, no job, no retry, no recovery, no
 * idempotency check beyond the primary key: what the service's audit does above this is its own cost.
 *
 * The database must exist (the bench creates it, as the service's audit would). The tables are named
 * as the service's (`session_events`, `sessions`) so that the bench counts the audited events the
 * same way, but hold only the columns written here.
 */
import { setTimeout as sleep } from "node:timers/promises"
import pg from "pg"

const GROUP = "audit"
const CONSUMER = "floor"
const LINGER_MS = 300
const COUNT = 1000

const WRITE = `
  WITH events AS (
    INSERT INTO session_events (session_id, version, event_id, payload)
    SELECT * FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::jsonb[])
    ON CONFLICT DO NOTHING
  )
  INSERT INTO sessions (session_id, last_version, snapshot)
  SELECT * FROM unnest($5::uuid[], $6::int4[], $7::jsonb[])
  ON CONFLICT (session_id) DO UPDATE SET last_version = excluded.last_version, snapshot = excluded.snapshot`

/**
 * Starts the audit over `logs` (the shard logs' keys) on `redis` (an ioredis client, duplicated for
 * the blocking reads). `eventPayload` is what each event row holds (the floor's log entries carry
 * the state, not the event). Returns the count of events written, for /ready's backlog.
 */
export const startFloorAudit = async ({ redis, databaseUrl, logs, eventPayload }) => {
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  await db.query(`
    CREATE TABLE IF NOT EXISTS session_events (session_id uuid, version int4, event_id text, payload jsonb, PRIMARY KEY (session_id, version));
    CREATE TABLE IF NOT EXISTS sessions (session_id uuid PRIMARY KEY, last_version int4, snapshot jsonb)`)
  for (const log of logs) {
    await redis.xgroup("CREATE", log, GROUP, "0", "MKSTREAM").catch((error) => {
      if (!String(error).includes("BUSYGROUP")) throw error
    })
  }
  const reader = redis.duplicate()
  const fromNew = logs.map(() => ">")
  const read = (block) =>
    block
      ? reader.xreadgroup("GROUP", GROUP, CONSUMER, "COUNT", COUNT, "BLOCK", 2000, "STREAMS", ...logs, ...fromNew)
      : reader.xreadgroup("GROUP", GROUP, CONSUMER, "COUNT", COUNT, "STREAMS", ...logs, ...fromNew)
  let written = 0
  let running = true

  const write = async (reads) => {
    const sessionIds = [], versions = [], eventIds = [], payloads = []
    const newest = new Map()
    for (const [, entries] of reads) {
      for (const [id, fields] of entries) {
        // Fields as commit.lua writes them: sid, v, s.
        const sessionId = fields[1]
        const version = Number(fields[3])
        sessionIds.push(sessionId)
        versions.push(version)
        eventIds.push(id)
        payloads.push(eventPayload)
        const seen = newest.get(sessionId)
        if (seen === undefined || seen.version < version) newest.set(sessionId, { version, state: fields[5] })
      }
    }
    const states = [...newest]
    await db.query(WRITE, [
      sessionIds, versions, eventIds, payloads,
      states.map(([sessionId]) => sessionId), states.map(([, s]) => s.version), states.map(([, s]) => s.state)
    ])
    for (const [log, entries] of reads) await redis.xack(log, GROUP, ...entries.map(([id]) => id))
    written += sessionIds.length
  }

  const loop = async () => {
    while (running) {
      const first = await read(true)
      if (first === null) continue
      await sleep(LINGER_MS)
      await write([...first, ...((await read(false)) ?? [])])
    }
  }
  const done = loop()

  return {
    written: () => written,
    stop: async () => {
      running = false
      reader.disconnect()
      await done.catch(() => undefined)
      await db.end()
    }
  }
}
