/**
 * A deletion reads as deleted from the moment it is acknowledged, on every instance, even while the
 * audit still holds an earlier state of the session; and DELETE is idempotent (204 for a session
 * that does not exist), as v2 clients expect.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { auditReader, testDatabaseUrl } from "../support/postgres.ts"
import { call, sessionBody, startServer, type TestServer } from "../support/app.ts"
import { deleteKeysWithPrefix, testPrefix } from "../support/redis.ts"

const prefix = testPrefix("delete-reads")
let worker: TestServer
let other: TestServer
let audit: ReturnType<typeof auditReader>

beforeAll(async () => {
  // A long linger keeps the deletion out of PostgreSQL for a while after it is acknowledged.
  worker = await startServer("delete-reads", { keyPrefix: prefix, auditBatchLingerMs: 3000 }, "all")
  other = await startServer("delete-reads", { keyPrefix: prefix })
  audit = auditReader(testDatabaseUrl())
})

afterAll(async () => {
  await other?.close()
  await worker?.close()
  await audit?.close()
  await deleteKeysWithPrefix(prefix)
})

const waitForAuditedVersion = async (sessionId: string, version: number) => {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const row = await audit.session(sessionId)
    if (row !== undefined && Number(row["last_version"]) >= version) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`version ${version} of ${sessionId} was not audited`)
}

describe("DELETE", () => {
  it("reads as deleted at once on every instance while the audit still holds an earlier state", async () => {
    const body = sessionBody("per_participant")
    const id = body.session_id
    expect((await call(worker, "POST", "/v1/sessions", body)).status).toBe(201)
    for (const verb of ["start", "switch", "pause", "resume", "complete"]) {
      expect((await call(worker, "POST", `/v1/sessions/${id}/${verb}`)).status).toBe(200)
    }
    await waitForAuditedVersion(id, 6)

    expect((await call(worker, "DELETE", `/v1/sessions/${id}`)).status).toBe(204)
    for (const server of [other, worker]) {
      const read = await call(server, "GET", `/v1/sessions/${id}`)
      expect(read.status).toBe(404)
      expect(read.body.error.code).toBe("SESSION_NOT_FOUND")
    }
    expect((await call(other, "POST", `/v1/sessions/${id}/start`)).status).toBe(404)

    // Created again under the same id, it is a new session from version 1, read alike everywhere.
    expect((await call(other, "POST", "/v1/sessions", body)).status).toBe(201)
    for (const server of [worker, other]) {
      const read = await call(server, "GET", `/v1/sessions/${id}`)
      expect(read.status).toBe(200)
      expect(read.body.data).toMatchObject({ status: "pending", version: 1 })
    }
  })

  it("answers 204 for a session that never existed and for one already deleted", async () => {
    const never = sessionBody("global")
    expect((await call(other, "DELETE", `/v1/sessions/${never.session_id}`)).status).toBe(204)
    expect((await call(other, "GET", `/v1/sessions/${never.session_id}`)).status).toBe(404)

    const body = sessionBody("global")
    expect((await call(other, "POST", "/v1/sessions", body)).status).toBe(201)
    expect((await call(other, "DELETE", `/v1/sessions/${body.session_id}`)).status).toBe(204)
    expect((await call(worker, "DELETE", `/v1/sessions/${body.session_id}`)).status).toBe(204)
  })

  it("still answers 400 for an id that is not a UUID", async () => {
    const bad = await call(other, "DELETE", "/v1/sessions/not-a-uuid")
    expect(bad.status).toBe(400)
  })
})
