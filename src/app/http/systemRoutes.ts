import { Effect } from "effect"
import type { FastifyInstance } from "fastify"
import type { RedisClient } from "../../infra/RedisClient.ts"
import type { ServerClock } from "../../infra/ServerClock.ts"
import type { AuditReadiness } from "../auditReadiness.ts"
import { SERVER_VERSION } from "../version.ts"
import { timeResponse } from "./schemas.ts"

/** Served only to tell clients how far their clocks are off; see docs/feeds.md on client clocks. */
const DRIFT_TOLERANCE_MS = 50

export const systemRoutes = (deps: {
  clock: ServerClock["Service"]
  redis: RedisClient["Service"]
  audit: Effect.Effect<AuditReadiness>
  /** Whether requests need credentials (API_KEYS set). */
  auth: "on" | "off"
}) =>
async (app: FastifyInstance) => {
  app.get("/v1/time", {
    schema: { tags: ["time"], summary: "Server time, the base of every time field", security: [], response: { 200: timeResponse } }
  }, async () => {
    const now = await app.runEffect(deps.clock.nowMs)
    return { data: { server_time_ms: now }, timestamp_ms: now, server_version: SERVER_VERSION, drift_tolerance_ms: DRIFT_TOLERANCE_MS }
  })

  app.get("/health", { schema: { tags: ["operations"], summary: "The process is up", security: [] } }, async () => ({ status: "ok" }))

  app.get("/ready", {
    schema: {
      tags: ["operations"],
      summary:
        "Redis answers: this instance can serve commands. Status \"degraded\" when PostgreSQL is down (200) or an audit alarm is raised (503, named in checks.audit.alarms); 503 NOT_READY when Redis does not answer; auth \"on\" or \"off\"",
      security: []
    }
  }, async (_request, reply) => {
    const result = await app.runEffect(Effect.result(deps.redis.ping))
    if (result._tag === "Success") {
      const audit = await app.runEffect(deps.audit)
      return reply.status(audit.alarms.length > 0 ? 503 : 200).send({
        status: audit.degraded ? "degraded" : "ready",
        auth: deps.auth,
        checks: { redis: "ok", ...audit.checks }
      })
    }
    return reply.status(503).send({
      error: { code: "NOT_READY", message: "Redis does not answer", details: { redis: result.failure.message } }
    })
  })
}
