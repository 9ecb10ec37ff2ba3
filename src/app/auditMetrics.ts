import { Effect, Layer } from "effect"
import { Counter, Gauge, Histogram } from "prom-client"
import { type AuditStatus, AuditMonitor } from "../infra/audit/AuditMonitor.ts"
import { AuditObserver } from "../infra/audit/AuditObserver.ts"
import { streamIdMs } from "../infra/streamIds.ts"
import { Metrics } from "./metrics.ts"

/**
 * The audit path's Prometheus metrics. Counters and histograms count what this process did (its
 * projector and writer); the gauges read the shared state in Redis on each scrape, so any instance
 * reports the whole audit's lag and backlog.
 */
export const auditMetricsLayer: Layer.Layer<AuditObserver, never, Metrics | AuditMonitor> = Layer.effect(
  AuditObserver,
  Effect.gen(function*() {
    const { registry } = yield* Metrics
    const monitor = yield* AuditMonitor
    const runPromise = Effect.runPromiseWith(yield* Effect.context<never>())
    const registers = [registry]

    const counter = <L extends string = never>(name: string, help: string, labelNames: ReadonlyArray<L> = []) =>
      new Counter<L>({ name, help, labelNames, registers })

    const projected = counter("synckairos_audit_events_projected_total", "Events written to PostgreSQL by this process (new rows only)")
    const redelivered = counter(
      "synckairos_audit_events_redelivered_total",
      "Events delivered again and found already audited (nothing written)"
    )
    const conflicts = counter(
      "synckairos_audit_event_conflicts_total",
      "Events not audited because another event holds their session incarnation and version (Redis lost commits the audit had taken, and the session committed those versions again)"
    )
    const handedOff = counter(
      "synckairos_audit_entries_handed_off_total",
      "Shard-log entries handed to the audit queue by this process; reclaimed=\"true\" when taken over from a dead consumer",
      ["reclaimed"]
    )
    const lost = counter(
      "synckairos_audit_entries_lost_total",
      "Shard-log entries trimmed before the audit took them (the log's hard cap was reached)"
    )
    const gaps = counter(
      "synckairos_audit_log_gaps_total",
      "Shard logs found lost by Redis (emptied, restarted without persistence, failed over) after entries the projector had not taken: those entries are not in the audit",
      ["shard"]
    )
    const jobFailures = counter(
      "synckairos_audit_job_failures_total",
      "Failed attempts to write a batch; parked=\"true\" when it was the last attempt (the job waits to be re-driven)",
      ["parked"]
    )
    const batchSize = new Histogram({
      name: "synckairos_audit_batch_size",
      help: "Events per batch written to PostgreSQL",
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers
    })
    const eventLag = new Histogram({
      name: "synckairos_audit_event_lag_seconds",
      help: "From an event's commit in Redis to its row in PostgreSQL, on the Redis clock",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers
    })

    // A scrape while Redis is down keeps the last values rather than failing the whole page.
    const fromStatus = (name: string, help: string, read: (status: AuditStatus) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const result = await runPromise(Effect.result(monitor.status))
          if (result._tag === "Success") this.set(read(result.success))
        }
      })
    fromStatus("synckairos_audit_lag_seconds", "Age of the oldest committed event not yet in PostgreSQL", (s) => s.lagMs / 1000)
    fromStatus("synckairos_audit_backlog_entries", "Shard-log entries not yet handed to the audit queue", (s) => s.backlog)
    fromStatus(
      "synckairos_audit_backlog_ratio",
      "The fullest shard log's backlog over its hard cap (SHARD_LOG_MAXLEN); events are lost at 1",
      (s) => s.backlogRatio
    )
    fromStatus("synckairos_audit_failed_jobs", "Batches parked as failed, waiting to be re-driven", (s) => s.queue.failed)
    fromStatus(
      "synckairos_audit_queued_jobs",
      "Batches waiting, being written or backing off",
      (s) => s.queue.waiting + s.queue.active + s.queue.delayed
    )

    return AuditObserver.of({
      handedOff: (entries, reclaimed) => handedOff.inc({ reclaimed: String(reclaimed) }, entries),
      lost: (entries) => lost.inc(entries),
      gaps: (found) => found.forEach((gap) => gaps.inc({ shard: String(gap.shard) })),
      written: (batch, result, atMs) => {
        projected.inc(result.inserted)
        redelivered.inc(result.duplicates)
        conflicts.inc(result.conflicts)
        batchSize.observe(batch.events.length)
        // A redelivery's age says how long the reclaim took, not how long the audit took.
        if (result.inserted === batch.events.length) {
          for (const event of batch.events) eventLag.observe((atMs - streamIdMs(event.eventId)) / 1000)
        }
      },
      failed: (parked) => jobFailures.inc({ parked: String(parked) })
    })
  })
)
