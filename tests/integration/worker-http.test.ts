/** A worker process serves what operations need over HTTP (health, readiness, metrics), and not the API. */
import { afterAll, expect, it } from "vitest"
import { spawnService } from "../support/process.ts"
import { deleteKeysWithPrefix, testPrefix } from "../support/redis.ts"

const prefix = testPrefix("worker-http")
afterAll(() => deleteKeysWithPrefix(prefix))

it("answers /health, /ready and /metrics, refuses the API with 404, and stops cleanly", async () => {
  const worker = await spawnService("worker", { REDIS_KEY_PREFIX: prefix })
  try {
    expect((await fetch(`${worker.baseUrl}/health`)).status).toBe(200)
    const ready = await fetch(`${worker.baseUrl}/ready`)
    expect(ready.status).toBe(200)
    expect(((await ready.json()) as { checks: { redis: string } }).checks.redis).toBe("ok")

    const metrics = await fetch(`${worker.baseUrl}/metrics`)
    expect(metrics.status).toBe(200)
    const text = await metrics.text()
    // The audit projector runs in the worker: its counters are scraped here.
    expect(text).toContain("synckairos_audit_events_projected_total")
    expect(text).toContain("process_resident_memory_bytes")

    const command = await fetch(`${worker.baseUrl}/v1/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}"
    })
    expect(command.status).toBe(404)
    expect((await fetch(`${worker.baseUrl}/docs`)).status).toBe(404)
  } finally {
    worker.child.kill("SIGTERM")
  }
  expect(await worker.exited).toBe(0)
})
