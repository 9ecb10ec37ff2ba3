import { Effect, Layer } from "effect"
import { AuditMonitor } from "../infra/audit/AuditMonitor.ts"
import { AuditQueue } from "../infra/audit/AuditQueue.ts"
import { AuditSettings } from "../infra/audit/AuditSettings.ts"
import { auditWriterLayer } from "../infra/audit/AuditWriter.ts"
import { projectorLayer } from "../infra/audit/Projector.ts"
import { ProjectorHealth } from "../infra/audit/ProjectorHealth.ts"
import { AuditRepository } from "../infra/pg/AuditRepository.ts"
import { AppConfig } from "./AppConfig.ts"
import { auditMetricsLayer } from "./auditMetrics.ts"
import { History } from "./History.ts"

const auditSettingsLayer = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* AppConfig
    return AuditSettings.layer({
      databaseUrl: config.databaseUrl,
      autoMigrate: config.databaseAutoMigrate,
      batchSize: config.auditBatchSize,
      batchLingerMs: config.auditBatchLingerMs,
      workerConcurrency: config.auditWorkerConcurrency,
      jobAttempts: config.auditJobAttempts,
      retryBaseMs: config.auditRetryBaseMs,
      redriveIntervalMs: config.auditRedriveIntervalMs,
      reclaimIdleMs: config.auditReclaimIdleMs
    })
  })
)

/**
 * The audit as every instance uses it: PostgreSQL (history, archived sessions, readiness), the
 * queue's and the shard logs' status, and the metrics.
 */
export const auditLayer = History.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(AuditRepository.layer, auditMetricsLayer, ProjectorHealth.layer)),
  Layer.provideMerge(AuditMonitor.layer),
  Layer.provideMerge(AuditQueue.layer),
  Layer.provideMerge(auditSettingsLayer)
)

/** The audit's background work: the projector (shard logs to the queue) and the writer (queue to PostgreSQL). */
export const auditWorkerLayer = Layer.mergeAll(projectorLayer, auditWriterLayer)
