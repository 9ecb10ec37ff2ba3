/** METADATA_MAX_BYTES: metadata travels in every copy of the state, so its JSON size is capped at the edge. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, sessionBody, startServer, type TestServer } from "../support/app.ts"
import { spawnService } from "../support/process.ts"
import { deleteKeysWithPrefix, keysWithPrefix, testPrefix } from "../support/redis.ts"

/** Metadata whose JSON encoding is exactly `bytes` long: `{"blob":"xx…"}`. */
const metadataOf = (bytes: number) => ({ blob: "x".repeat(bytes - JSON.stringify({ blob: "" }).length) })

const create = (server: TestServer, metadata: Record<string, unknown>) =>
  call(server, "POST", "/v1/sessions", sessionBody("per_participant", 2, { metadata }))

let server: TestServer
beforeAll(async () => {
  server = await startServer("metadata-limit")
})
afterAll(() => server.close())

describe("metadata size", () => {
  it("accepts 16 KiB of metadata by default and returns it as given", async () => {
    const metadata = metadataOf(16_384)
    const reply = await create(server, metadata)
    expect(reply.status, JSON.stringify(reply.body)).toBe(201)
    expect(reply.body.data.metadata).toEqual(metadata)
  })

  it("refuses 17 KB with 400 naming the field and the limit, and writes nothing", async () => {
    const before = await keysWithPrefix(server.prefix)
    const body = sessionBody("per_participant", 2, { metadata: metadataOf(17_000) })
    const reply = await call(server, "POST", "/v1/sessions", body)
    expect(reply.status).toBe(400)
    expect(reply.body.error.code).toBe("VALIDATION_ERROR")
    expect(reply.body.error.details).toEqual([{ field: "metadata", message: expect.stringContaining("17000 bytes") }])
    expect(reply.body.error.details[0].message).toContain("limit of 16384")
    expect(await keysWithPrefix(server.prefix)).toEqual(before)
    expect((await call(server, "GET", `/v1/sessions/${body.session_id}`)).status).toBe(404)
  })

  it("counts the JSON encoding in UTF-8 bytes, not characters", async () => {
    // 6,000 three-byte characters: 18,000 bytes over 6,000 characters.
    const reply = await create(server, { text: "€".repeat(6_000) })
    expect(reply.status).toBe(400)
    expect(reply.body.error.details[0].field).toBe("metadata")
  })
})

describe("METADATA_MAX_BYTES", () => {
  it("moves the limit of a service started with it", async () => {
    const prefix = testPrefix("metadata-limit")
    const service = await spawnService("api", { METADATA_MAX_BYTES: "2048", REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn" })
    const small = { baseUrl: service.baseUrl, prefix, close: async () => {} }
    try {
      expect((await create(small, metadataOf(2048))).status).toBe(201)
      const refused = await create(small, metadataOf(2049))
      expect(refused.status).toBe(400)
      expect(refused.body.error.details).toEqual([{ field: "metadata", message: expect.stringContaining("limit of 2048") }])
    } finally {
      service.child.kill("SIGTERM")
      await service.exited
      await deleteKeysWithPrefix(prefix)
    }
  })
})
