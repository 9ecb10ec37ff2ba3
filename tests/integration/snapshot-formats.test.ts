/**
 * Stored states: a snapshot's bytes in Redis; in PostgreSQL, the audit writes the current snapshot
 * format into `sessions.last_snapshot`, and a session archived in an older format still reads, rendered
 * as before.
 */
import { readFileSync } from "node:fs"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sessionView } from "../../src/app/http/views.ts"
import type { SessionState } from "../../src/domain/index.ts"
import { call, playSession, startServer, type TestServer, uuid } from "../support/app.ts"
import { expectAuditMatchesRedis } from "../support/audit.ts"
import { auditReader, testDatabaseUrl } from "../support/postgres.ts"
import { redisUrl } from "../support/redis.ts"

let server: TestServer
let audit: ReturnType<typeof auditReader>
let redis: Redis

beforeAll(async () => {
  server = await startServer("snapshot-formats", {}, "all")
  audit = auditReader(testDatabaseUrl())
  redis = new Redis(redisUrl, { protocol: 2 })
})
afterAll(async () => {
  await server.close()
  await audit.close()
  redis.disconnect()
})

const v1Fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/snapshots/v1/${name}.json`, import.meta.url), "utf8").trim()

/** A sessions row as the audit wrote it before snapshots carried a format version. */
const archiveV1 = async (snapshot: string): Promise<SessionState> => {
  const state: SessionState = JSON.parse(snapshot)
  await audit.query(
    `INSERT INTO sessions (session_id, incarnation, sync_mode, config, created_at, status, last_version, last_event_id,
       last_event_at, snapshot_version, last_snapshot)
     VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0), $6, $7, $8, to_timestamp($9 / 1000.0), $7, $10)`,
    [state.config.sessionId, `${state.createdAt}-0`, state.config.syncMode, JSON.stringify(state.config), state.createdAt, state.status,
      state.version, `${state.updatedAt}-0`, state.updatedAt, snapshot]
  )
  return state
}

describe("snapshots in Redis", () => {
  it("take under 1 KB for a two-participant game of a day's clocks, well on", async () => {
    const id = await playSession(server, 100, {
      total_time_ms: 86_400_000,
      participants: [{ participant_id: uuid(), total_time_ms: 86_400_000 }, { participant_id: uuid(), total_time_ms: 86_400_000 }]
    })
    const [key] = await redis.keys(`${server.prefix}*snap:${id}`)
    expect(await redis.memory("USAGE", key!)).toBeLessThan(1_024)
  })
})

describe("snapshots in PostgreSQL", () => {
  it("are written in the current format, with the version and configuration SQL reads", async () => {
    const id = await playSession(server, 0, { total_time_ms: 60_000 })
    await expectAuditMatchesRedis(server.prefix, testDatabaseUrl(), [id])
    const { rows } = await audit.query<{ format: string; version: number; config: Record<string, unknown> }>(
      `SELECT last_snapshot->>'_v' AS format, (last_snapshot->>'version')::int AS version, config FROM sessions WHERE session_id = $1`,
      [id]
    )
    expect(rows).toEqual([{ format: "3", version: 2, config: expect.objectContaining({ sessionId: id, syncMode: "per_participant" }) }])
  })

  it.each(["per_participant-running", "per_group-paused", "count_up-expired"])(
    "archived in format version 1 (%s), read and rendered as the state it holds",
    async (name) => {
      const state = await archiveV1(v1Fixture(name))
      const read = await call(server, "GET", `/v1/sessions/${state.config.sessionId}`)
      expect(read.status).toBe(200)
      expect(read.body.data).toEqual({
        ...sessionView(state, read.body.data.server_time_ms),
        last_event_id: `${state.updatedAt}-0`,
        archived: true
      })
    }
  )
})
