import { Effect } from "effect"
import type { AuditMonitor } from "../infra/audit/AuditMonitor.ts"
import type { AuditRepository } from "../infra/pg/AuditRepository.ts"

/** The audit is this far behind: worth an operator's look (it drains under a second when healthy). */
const LAG_ALARM_MS = 60_000
/** A shard log this full of unaudited entries is on its way to its hard cap, where events get lost. */
const BACKLOG_ALARM_RATIO = 0.5

export interface AuditReadiness {
  /** PostgreSQL is down or an alarm is raised; commands are still served. */
  readonly degraded: boolean
  readonly checks: Record<string, unknown>
}

/**
 * The audit's part of GET /ready. It never makes an instance unready: PostgreSQL is not on the
 * command path, so an outage or a lag degrades the audit, not the service.
 */
export const auditReadiness = (deps: {
  readonly repository: AuditRepository["Service"]
  readonly monitor: AuditMonitor["Service"]
}): Effect.Effect<AuditReadiness> =>
  Effect.gen(function*() {
    const [postgres, status] = yield* Effect.all([
      deps.repository.ping.pipe(
        Effect.timeout("1 second"),
        Effect.as("ok"),
        Effect.catch((error) => Effect.succeed(error.message))
      ),
      Effect.result(deps.monitor.status)
    ], { concurrency: "unbounded" })
    if (status._tag === "Failure") {
      return { degraded: true, checks: { postgres, audit: { error: status.failure.message } } }
    }
    const s = status.success
    const alarms = [
      ...(s.lagMs > LAG_ALARM_MS ? [`audit lag ${Math.round(s.lagMs / 1000)} s`] : []),
      ...(s.backlogRatio >= BACKLOG_ALARM_RATIO ? [`a shard log is ${Math.round(s.backlogRatio * 100)} % full of unaudited events`] : [])
    ]
    return {
      degraded: postgres !== "ok" || alarms.length > 0,
      checks: {
        postgres,
        audit: {
          lag_ms: s.lagMs,
          backlog: s.backlog,
          backlog_ratio: s.backlogRatio,
          queued_jobs: s.queue.waiting + s.queue.active + s.queue.delayed,
          failed_jobs: s.queue.failed,
          alarms
        }
      }
    }
  })
