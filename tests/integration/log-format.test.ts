/**
 * One log format: every line the service writes, Fastify's, the process's and Effect's own, is one
 * JSON object with the same level shape, including the warnings of an outage, in every role, from
 * `npm run migrate`, and when a configuration is refused. (The embedded start's lines are checked in
 * embedded-start.test.ts.)
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { afterAll, beforeAll, expect, it } from "vitest"
import { uuid } from "../support/app.ts"
import { linesOf, malformedLines } from "../support/logLines.ts"
import { testDatabaseUrl } from "../support/postgres.ts"
import { spawnService, type ServiceProcess } from "../support/process.ts"
import { startOwnRedis, type OwnRedis } from "../support/redisServer.ts"

let redis: OwnRedis
let service: ServiceProcess

/** Runs an entry point of src/app from the source to its end, as `npm run` does; its output is stdout and stderr together. */
const runEntry = async (file: string, env: Record<string, string>, ...args: Array<string>) => {
  const run = promisify(execFile)(process.execPath, ["--import", "tsx", file, ...args], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), LOG_LEVEL: "info", ...env },
    timeout: 60_000
  })
  const result = await run.then(
    ({ stdout, stderr }) => ({ exitCode: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({ exitCode: error.code ?? -1, output: `${error.stdout ?? ""}${error.stderr ?? ""}` })
  )
  return { exitCode: result.exitCode, output: result.output, lines: linesOf(result.output) }
}

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

  const lines = linesOf(service.output())
  expect(malformedLines(service.output())).toEqual([])
  const levels = lines.map((line) => (JSON.parse(line) as { level: string }).level)
  expect(levels.some((level) => level === "warn" || level === "error")).toBe(true)
  expect(lines.some((line) => line.includes("synckairos ready"))).toBe(true)
  expect(lines.some((line) => line.includes("shutting down"))).toBe(true)
}, 60_000)

it("writes the worker's lines in the same shape, debug lines included", async () => {
  const worker = await spawnService("worker", { REDIS_URL: redis.url, REDIS_KEY_PREFIX: "skw:", LOG_LEVEL: "debug" })
  worker.child.kill("SIGTERM")
  expect(await worker.exited).toBe(0)
  const lines = linesOf(worker.output())
  expect(malformedLines(worker.output())).toEqual([])
  expect(lines.some((line) => line.includes("synckairos ready"))).toBe(true)
  expect(lines.some((line) => line.includes("shutting down"))).toBe(true)
}, 60_000)

it("writes migrate's lines, and a refused configuration, as JSON lines", async () => {
  const migrated = await runEntry("src/app/migrate.ts", {})
  expect(migrated.exitCode).toBe(0)
  expect(malformedLines(migrated.output)).toEqual([])
  expect(migrated.lines.some((line) => line.includes("migrations applied"))).toBe(true)

  for (const entry of ["src/app/migrate.ts", "src/app/main.ts"]) {
    const refused = await runEntry(entry, { LOG_LEVEL: "loud" }, "api")
    expect(refused.exitCode).toBe(1)
    expect(malformedLines(refused.output)).toEqual([])
    expect(refused.lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ level: "fatal", err: expect.stringContaining("LOG_LEVEL") })
    )
  }
}, 120_000)
