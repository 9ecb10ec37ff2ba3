/**
 * One log format: every line the service writes, Fastify's, the process's and Effect's own, is one
 * JSON object with the same level shape, including the warnings of an outage.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { uuid } from "../support/app.ts"
import { spawnService, type ServiceProcess } from "../support/process.ts"
import { startOwnRedis, type OwnRedis } from "../support/redisServer.ts"

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"]
let redis: OwnRedis
let service: ServiceProcess

beforeAll(async () => {
  redis = await startOwnRedis()
  service = await spawnService("all", {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: "sk:",
    LOG_LEVEL: "info",
    // Maintenance (where a Redis outage shows as a warning) every second.
    AUDIT_RECLAIM_IDLE_MS: "1000"
  })
}, 60_000)

afterAll(async () => {
  service?.child.kill("SIGKILL")
  await redis?.stop()
})

it("writes every line as one JSON object with a word for its level, warnings included", async () => {
  const created = await fetch(`${service.baseUrl}/v1/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ session_id: uuid(), sync_mode: "global", total_time_ms: 60_000, participants: [{ participant_id: uuid() }] })
  })
  expect(created.status).toBe(201)

  await redis.crashAndRestart(3000)
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline && !/"level":"(warn|error)"/.test(service.output())) {
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  service.child.kill("SIGTERM")
  await service.exited

  const lines = service.output().split("\n").filter((line) => line !== "")
  const malformed = lines.filter((line) => {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>
      return !LEVELS.includes(String(parsed["level"])) || typeof parsed["time"] !== "number" || typeof parsed["msg"] !== "string" ||
        typeof parsed["component"] !== "string"
    } catch {
      return true
    }
  })
  expect(malformed).toEqual([])
  const levels = lines.map((line) => (JSON.parse(line) as { level: string }).level)
  expect(levels.some((level) => level === "warn" || level === "error")).toBe(true)
  expect(lines.some((line) => line.includes("synckairos ready"))).toBe(true)
  expect(lines.some((line) => line.includes("shutting down"))).toBe(true)
}, 60_000)
