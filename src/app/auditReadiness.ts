import { Effect } from "effect"
import type { AuditMonitor } from "../infra/audit/AuditMonitor.ts"
import type { ProjectorHealth } from "../infra/audit/ProjectorHealth.ts"
import type { AuditRepository } from "../infra/pg/AuditRepository.ts"

/** A shard log this full of unaudited entries is on its way to its hard cap, where events get lost. */
const BACKLOG_ALARM_RATIO = 0.5

/** Something an operator must look at, by a stable name that alerting can match. */
export interface Alarm {
  readonly name: "audit_lag" | "audit_backlog" | "audit_log_unreadable"
  readonly message: string
}

export interface AuditReadiness {
  /** PostgreSQL is down or an alarm is raised; commands are still served. */
  readonly degraded: boolean
  /** Raised alarms: /ready answers 503 while there is one. */
  readonly alarms: ReadonlyArray<Alarm>
  readonly checks: Record<string, unknown>
}

/** The alarms the audit's state raises: pure, so that the thresholds are tested without Redis. */
export const auditAlarms = (state: {
  readonly lagMs: number
  readonly lagAlarmMs: number
  readonly backlogRatio: number
  readonly unreadableShards: ReadonlyArray<number>
}): Array<Alarm> => [
  ...(state.lagMs > state.lagAlarmMs
    ? [{ name: "audit_lag", message: `audit lag ${Math.round(state.lagMs / 1000)} s, over ${Math.round(state.lagAlarmMs / 1000)} s` } as const]
    : []),
  ...(state.backlogRatio >= BACKLOG_ALARM_RATIO
    ? [{ name: "audit_backlog", message: `a shard log is ${Math.round(state.backlogRatio * 100)} % full of unaudited events` } as const]
    : []),
  ...(state.unreadableShards.length > 0
    ? [{ name: "audit_log_unreadable", message: `the projector cannot read the shard logs ${state.unreadableShards.join(", ")}` } as const]
    : [])
]

/**
 * The audit's part of GET /ready. PostgreSQL is not on the command path, so an outage alone degrades
 * the audit (200, "degraded"); an alarm (the audit far behind, or a shard log the projector cannot
 * read) makes the instance answer 503, so that it is seen.
 */
export const auditReadiness = (deps: {
  readonly repository: AuditRepository["Service"]
  readonly monitor: AuditMonitor["Service"]
  readonly health: ProjectorHealth["Service"]
  readonly lagAlarmMs: number
}): Effect.Effect<AuditReadiness> =>
  Effect.gen(function*() {
    const [postgres, status, unreadable] = yield* Effect.all([
      deps.repository.ping.pipe(
        Effect.timeout("1 second"),
        Effect.as("ok"),
        Effect.catch((error) => Effect.succeed(error.message))
      ),
      Effect.result(deps.monitor.status),
      deps.health.unreadable
    ], { concurrency: "unbounded" })
    const unreadableShards = unreadable.map((log) => log.shard).sort((a, b) => a - b)
    if (status._tag === "Failure") {
      const alarms = auditAlarms({ lagMs: 0, lagAlarmMs: deps.lagAlarmMs, backlogRatio: 0, unreadableShards })
      return { degraded: true, alarms, checks: { postgres, audit: { error: status.failure.message, alarms } } }
    }
    const s = status.success
    const alarms = auditAlarms({ lagMs: s.lagMs, lagAlarmMs: deps.lagAlarmMs, backlogRatio: s.backlogRatio, unreadableShards })
    return {
      degraded: postgres !== "ok" || alarms.length > 0,
      alarms,
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
