import { Context, Layer } from "effect"
import { flag, integer, type SettingsOf, text } from "../settingsSchema.ts"

/** The audit's slice of the configuration: how it reaches PostgreSQL and paces itself. */
const schema = {
  databaseUrl: text(
    "DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/synckairos",
    "the PostgreSQL audit",
    // Never shown: the URL may hold a password.
    (url) => /^postgres(ql)?:\/\//.test(url) ? undefined : "DATABASE_URL must start with postgres:// or postgresql://"
  ),
  databaseAutoMigrate: flag(
    "DATABASE_AUTO_MIGRATE",
    true,
    "on first connecting, create the database if it is missing and apply pending migrations (under an advisory lock, so every instance may); `false` leaves it to `npm run migrate`"
  ),
  auditBatchSize: integer(
    "AUDIT_BATCH_SIZE",
    500,
    "most events read from one shard log at once; a batch (one BullMQ job, one PostgreSQL transaction) holds the reads of every shard within the linger, and goes at once when it reaches this many"
  ),
  auditBatchLingerMs: integer(
    "AUDIT_BATCH_LINGER_MS",
    300,
    "how long a batch waits, from its first read, for more events of any shard to join it: longer makes fewer, larger jobs (less CPU per event) and adds as much audit lag"
  ),
  auditWorkerConcurrency: integer("AUDIT_WORKER_CONCURRENCY", 4, "batches one worker process writes at once"),
  auditJobAttempts: integer(
    "AUDIT_JOB_ATTEMPTS",
    8,
    "attempts of a batch (backing off from `AUDIT_RETRY_BASE_MS`, doubling) before it is parked as failed (and later re-driven)"
  ),
  auditRetryBaseMs: integer("AUDIT_RETRY_BASE_MS", 500, "first retry delay of a failed batch"),
  auditRedriveIntervalMs: integer("AUDIT_REDRIVE_INTERVAL_MS", 10_000, "how often parked and backed-off batches are re-driven once PostgreSQL answers again"),
  auditReclaimIdleMs: integer(
    "AUDIT_RECLAIM_IDLE_MS",
    30_000,
    "how long a dead worker's unacknowledged shard-log entries, or its batch in progress, wait before another worker takes them over"
  ),
}

export type AuditSettingsShape = SettingsOf<typeof schema>

/** The audit's settings, a slice of the configuration the app reads and checks once. */
export class AuditSettings extends Context.Service<AuditSettings, AuditSettingsShape>()("synckairos/infra/AuditSettings") {
  static readonly schema = schema
  /** This slice of checked settings. */
  static readonly layerFrom = (settings: AuditSettingsShape) => Layer.succeed(AuditSettings, settings)
}
