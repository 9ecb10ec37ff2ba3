/** SIGTERM on a real process: in-flight commands finish and answer, nothing new is accepted, exit 0. */
import { afterAll, expect, it } from "vitest"
import { sessionBody } from "../support/app.ts"
import { spawnService } from "../support/process.ts"
import { deleteKeysWithPrefix, testPrefix } from "../support/redis.ts"
import { storeReader } from "../support/store.ts"

const prefix = testPrefix("shutdown")
afterAll(() => deleteKeysWithPrefix(prefix))

const post = (base: string, path: string, body: unknown = {}) =>
  fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

it("finishes in-flight commands, then stops accepting and exits cleanly", async () => {
  const service = await spawnService("api", { REDIS_KEY_PREFIX: prefix })
  const body = sessionBody("per_participant", 2, { total_time_ms: 3_600_000 })
  expect((await post(service.baseUrl, "/v1/sessions", body)).status).toBe(201)
  expect((await post(service.baseUrl, `/v1/sessions/${body.session_id}/start`)).status).toBe(200)

  const inFlight = Array.from({ length: 100 }, () =>
    post(service.baseUrl, `/v1/sessions/${body.session_id}/switch`).then((r) => r.status, () => "refused" as const))
  await new Promise((resolve) => setTimeout(resolve, 5))
  service.child.kill("SIGTERM")
  const statuses = await Promise.all(inFlight)
  expect(await service.exited).toBe(0)

  // Every request was either answered in full or refused before it was accepted; none was cut off.
  const answered = statuses.filter((s) => s === 200).length
  expect(statuses.every((s) => s === 200 || s === 503 || s === "refused")).toBe(true)
  expect(answered).toBeGreaterThan(0)
  // No command was committed without its answer reaching the client.
  const store = storeReader(prefix)
  const stored = await store.read(body.session_id)
  await store.close()
  expect(stored.version).toBe(2 + answered)
  expect(service.output()).toContain("shutting down")
  await expect(fetch(`${service.baseUrl}/health`)).rejects.toThrow()
})
