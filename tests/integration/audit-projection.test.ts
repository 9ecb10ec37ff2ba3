/** The audit path end to end on the real Redis and PostgreSQL: every committed event in `session_events` exactly once. */
import { Effect, Layer, ManagedRuntime } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type AuditBatch, batchOf as batchOfEntries } from "../../src/infra/audit/AuditBatch.ts"
import { AuditRepository } from "../../src/infra/pg/AuditRepository.ts"
import { makeKeySchema } from "../../src/infra/keys.ts"
import { type LogEntry, toLogEntry } from "../../src/infra/streamEntries.ts"
import { call, sessionBody, startServer, type TestServer, uuid } from "../support/app.ts"
import { expectAuditMatchesRedis, runSessions } from "../support/audit.ts"
import { auditReader, testDatabaseUrl } from "../support/postgres.ts"
import { redisUrl } from "../support/redis.ts"
import { auditSettingsLayer } from "../support/settings.ts"

const SHARDS = 16

let server: TestServer
let redis: Redis
const repository = ManagedRuntime.make(
  AuditRepository.layer.pipe(Layer.provide(auditSettingsLayer({ databaseUrl: testDatabaseUrl(), databaseAutoMigrate: false })))
)
const write = (batch: AuditBatch) => repository.runPromise(Effect.flatMap(Effect.service(AuditRepository), (r) => r.writeBatch(batch)))

beforeAll(async () => {
  server = await startServer("audit-projection", { shardCount: SHARDS }, "all")
  redis = new Redis(redisUrl, { protocol: 2 })
})
afterAll(async () => {
  await server.close()
  redis.disconnect()
  await repository.dispose()
})

/** The shard-log entries of one session, as the projector reads them. */
const logEntriesOf = async (sessionId: string) => {
  const keys = makeKeySchema({ keyPrefix: server.prefix, shardCount: SHARDS })
  const { shard, log } = keys.session(sessionId)
  const raw = await redis.xrange(log, "-", "+")
  return raw.map((item) => toLogEntry(shard, item)).filter((entry) => entry.sessionId === sessionId)
}

/** The batch of these entries of one session, with its snapshot as Redis holds it now, as the projector makes it. */
const batchOf = async (entries: ReadonlyArray<LogEntry>) => {
  const sessionId = entries[0]!.sessionId
  const snapshotKey = makeKeySchema({ keyPrefix: server.prefix, shardCount: SHARDS }).session(sessionId).snapshot
  const [version, state, incarnation] = await redis.hmget(snapshotKey, "v", "s", "c")
  const current = version == null || state == null ? [] : [{ sessionId, incarnation: incarnation ?? "", version: Number(version), state }]
  return batchOfEntries(entries, current)
}

/** A session of two participants that took these commands, once the audit has every event; its log entries. */
const auditedSession = async (syncMode: string, verbs: ReadonlyArray<string>) => {
  const body = sessionBody(syncMode, 2, { total_time_ms: 3_600_000 })
  const id = body.session_id
  expect((await call(server, "POST", "/v1/sessions", body)).status).toBe(201)
  for (const verb of verbs) expect((await call(server, "POST", `/v1/sessions/${id}/${verb}`)).status).toBe(200)
  await expectAuditMatchesRedis(server.prefix, testDatabaseUrl(), [id])
  return { id, entries: await logEntriesOf(id) }
}

describe("the projector and the audit writer", () => {
  let sessionIds: Array<string>

  it("put every event of a few hundred random sessions in session_events exactly once", async () => {
    sessionIds = await runSessions(server.baseUrl, 300)
    const events = await expectAuditMatchesRedis(server.prefix, testDatabaseUrl(), sessionIds)
    expect(events).toBeGreaterThan(300 * 3)
  }, 120_000)

  it("keep one row per session with its final state, deleted sessions marked so", async () => {
    const audit = auditReader(testDatabaseUrl())
    try {
      for (const id of sessionIds.slice(0, 50)) {
        const read = await call(server, "GET", `/v1/sessions/${id}`)
        const row = await audit.session(id)
        if (read.status === 404) {
          expect(row).toMatchObject({ status: "deleted" })
          expect(row?.["deleted_at"]).not.toBeNull()
        } else {
          expect(row).toMatchObject({ status: read.body.data.status, last_version: read.body.data.version, last_event_id: read.body.data.last_event_id })
          expect((row?.["last_snapshot"] as { version: number }).version).toBe(read.body.data.version)
          expect(row?.["config"]).toMatchObject({ sessionId: id, syncMode: read.body.data.sync_mode })
        }
      }
    } finally {
      await audit.close()
    }
  })

  it("write nothing new when a batch is delivered twice", async () => {
    const id = sessionIds[0]!
    const batch = await batchOf(await logEntriesOf(id))
    const audit = auditReader(testDatabaseUrl())
    try {
      const before = await audit.query("SELECT * FROM session_events WHERE session_id = $1 ORDER BY version", [id])
      const sessionBefore = await audit.session(id)
      expect(await write(batch)).toEqual({ inserted: 0, duplicates: batch.events.length, conflicts: 0 })
      expect(await write(batch)).toEqual({ inserted: 0, duplicates: batch.events.length, conflicts: 0 })
      expect((await audit.query("SELECT * FROM session_events WHERE session_id = $1 ORDER BY version", [id])).rows).toEqual(before.rows)
      expect(await audit.session(id)).toEqual(sessionBefore)
    } finally {
      await audit.close()
    }
  })

  it("keep the newest state whatever order batches arrive in", async () => {
    const { id, entries } = await auditedSession("global", ["start", "switch", "pause"])
    const audit = auditReader(testDatabaseUrl())
    try {
      await audit.query("DELETE FROM session_events WHERE session_id = $1", [id])
      await audit.query("DELETE FROM sessions WHERE session_id = $1", [id])
      // The later batch lands first, as after a retry or on another worker.
      expect(await write(await batchOf(entries.slice(2)))).toMatchObject({ inserted: 2 })
      expect(await write(await batchOf(entries.slice(0, 2)))).toMatchObject({ inserted: 2 })
      expect(await audit.session(id)).toMatchObject({ status: "paused", last_version: 4, snapshot_version: 4 })
      expect((await audit.session(id))?.["created_at"]).not.toBeNull()
    } finally {
      await audit.close()
    }
  })

  it("keep every session of an id deleted and created again, the session row and history following the newest", async () => {
    const id = uuid()
    const body = { session_id: id, sync_mode: "global", total_time_ms: 3_600_000, participants: [{ participant_id: uuid() }, { participant_id: uuid() }] }
    const first = await call(server, "POST", "/v1/sessions", body)
    for (const verb of ["start", "switch"]) expect((await call(server, "POST", `/v1/sessions/${id}/${verb}`)).status).toBe(200)
    expect((await call(server, "DELETE", `/v1/sessions/${id}`)).status).toBe(204)
    const second = await call(server, "POST", "/v1/sessions", body)
    expect((await call(server, "POST", `/v1/sessions/${id}/start`)).status).toBe(200)
    // Each session of the id is named by the id of its first event.
    const incarnations = [first.body.data.last_event_id as string, second.body.data.last_event_id as string]

    const audit = auditReader(testDatabaseUrl())
    const rows = async () =>
      (await audit.query<{ incarnation: string; version: number }>(
        "SELECT incarnation, version FROM session_events WHERE session_id = $1 ORDER BY incarnation_order(incarnation), version",
        [id]
      )).rows
    const everyEvent = [1, 2, 3, 4].map((version) => ({ incarnation: incarnations[0], version }))
      .concat([1, 2].map((version) => ({ incarnation: incarnations[1], version })))
    const history = () =>
      repository.runPromise(Effect.flatMap(Effect.service(AuditRepository), (r) =>
        r.events(id, { afterVersion: 0, beforeVersion: 100, order: "asc", limit: 10 })))
    try {
      for (const deadline = Date.now() + 30_000; (await rows()).length < everyEvent.length && Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(await rows()).toEqual(everyEvent)
      const row = { incarnation: incarnations[1], status: "running", last_version: 2, deleted_at: null }
      expect(await audit.session(id)).toMatchObject(row)
      expect((await history()).map((e) => e.version)).toEqual([1, 2])
      expect((await history())[0]?.id).toBe(incarnations[1])

      // Batches land in any order: the first session's, late, neither hides the second nor loses its events.
      const entries = await logEntriesOf(id)
      await audit.query("DELETE FROM session_events WHERE session_id = $1", [id])
      await audit.query("DELETE FROM sessions WHERE session_id = $1", [id])
      expect(await write(await batchOf(entries.slice(4)))).toMatchObject({ inserted: 2 })
      expect(await write(await batchOf(entries.slice(0, 4)))).toMatchObject({ inserted: 4 })
      expect(await rows()).toEqual(everyEvent)
      expect(await audit.session(id)).toMatchObject(row)
    } finally {
      await audit.close()
    }
  })

  it("name the incarnation of a session from before incarnations existed: as the audit knows it, else after its first event", async () => {
    const { id, entries } = await auditedSession("per_participant", ["start", "switch", "switch"])
    // As a session created before the field existed carries them: no incarnation anywhere.
    const unnamed = (batch: AuditBatch): AuditBatch => ({
      events: batch.events.map((e) => ({ ...e, incarnation: "" })),
      snapshots: batch.snapshots.map((x) => ({ ...x, incarnation: "" }))
    })
    const audit = auditReader(testDatabaseUrl())
    try {
      const incarnationOf = async () =>
        (await audit.query("SELECT DISTINCT incarnation FROM session_events WHERE session_id = $1", [id])).rows.map((row) => row["incarnation"])
      const named = entries[0]!.incarnation
      // Known to the audit: the later events join the row's incarnation.
      await audit.query("DELETE FROM session_events WHERE session_id = $1 AND version > 2", [id])
      expect(await write(unnamed(await batchOf(entries.slice(2))))).toMatchObject({ inserted: 2, conflicts: 0 })
      expect(await incarnationOf()).toEqual([named])
      expect(await audit.session(id)).toMatchObject({ incarnation: named, last_version: 4 })
      // Unknown to the audit: named after its first event in the batch.
      await audit.query("DELETE FROM session_events WHERE session_id = $1", [id])
      await audit.query("DELETE FROM sessions WHERE session_id = $1", [id])
      expect(await write(unnamed(await batchOf(entries.slice(1))))).toMatchObject({ inserted: 3, conflicts: 0 })
      expect(await incarnationOf()).toEqual([entries[1]!.eventId])
      expect(await audit.session(id)).toMatchObject({ incarnation: entries[1]!.eventId, last_version: 4 })
    } finally {
      await audit.close()
    }
  })

  it("count an event whose session version is already audited with another event as a conflict, not a duplicate", async () => {
    const entries = await logEntriesOf(sessionIds[1]!)
    const reused = await batchOf(entries.slice(0, 1).map((entry) => ({ ...entry, eventId: "1-1" })))
    expect(await write(reused)).toEqual({ inserted: 0, duplicates: 0, conflicts: 1 })
  })

  it("report the drained lag on /ready and the audit's metrics on /metrics", async () => {
    const ready = await call(server, "GET", "/ready")
    expect(ready.status).toBe(200)
    expect(ready.body).toMatchObject({ status: "ready", checks: { redis: "ok", postgres: "ok", audit: { failed_jobs: 0, alarms: [] } } })
    expect(ready.body.checks.audit.lag_ms).toBeLessThan(5000)
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text()
    const projected = /^synckairos_audit_events_projected_total (\d+)/m.exec(metrics)
    expect(Number(projected?.[1])).toBeGreaterThan(300 * 3)
    expect(metrics).toMatch(/^synckairos_audit_batch_size_count \d+/m)
    expect(metrics).toMatch(/^synckairos_audit_lag_seconds \d/m)
    expect(metrics).toMatch(/^synckairos_audit_failed_jobs 0/m)
  })
})
