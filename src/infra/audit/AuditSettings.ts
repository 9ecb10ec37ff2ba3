import { Context, Effect, Layer, Schema } from "effect"
import { firstNonPositiveInteger } from "../settingsCheck.ts"

export class InvalidAuditSettings extends Schema.TaggedError<InvalidAuditSettings>()("InvalidAuditSettings", {
  message: Schema.String
}) {}

export interface AuditSettingsShape {
  /** The audit database, e.g. `postgres://postgres@127.0.0.1:5432/synckairos`. */
  readonly databaseUrl: string
  /** Create the database when missing and apply pending migrations on first connecting. */
  readonly autoMigrate: boolean
  /** Most shard-log entries handed to one job (one PostgreSQL transaction). */
  readonly batchSize: number
  /** How long a shard's projector waits for more entries to join a batch that is not full. */
  readonly batchLingerMs: number
  /** Jobs one worker process writes at once. */
  readonly workerConcurrency: number
  /** Attempts of a job before it is parked as failed (and later re-driven). */
  readonly jobAttempts: number
  /** Delay before a job's first retry; it doubles with each attempt. */
  readonly retryBaseMs: number
  /** How often failed and backed-off jobs are re-driven once PostgreSQL answers again. */
  readonly redriveIntervalMs: number
  /** How long a dead consumer's entries, or a dead worker's job, wait before another takes them over. */
  readonly reclaimIdleMs: number
}

const validate = (settings: AuditSettingsShape): string | undefined => {
  if (!/^postgres(ql)?:\/\//.test(settings.databaseUrl)) return `databaseUrl must be a postgres:// URL, got ${settings.databaseUrl}`
  return firstNonPositiveInteger(settings, [
    "batchSize",
    "batchLingerMs",
    "workerConcurrency",
    "jobAttempts",
    "retryBaseMs",
    "redriveIntervalMs",
    "reclaimIdleMs"
  ])
}

/** How the audit path reaches PostgreSQL and paces itself; the app builds this from its configuration. */
export class AuditSettings extends Context.Service<AuditSettings, AuditSettingsShape>()("synckairos/infra/AuditSettings") {
  static readonly defaults: AuditSettingsShape = {
    databaseUrl: "postgres://postgres@127.0.0.1:5432/synckairos",
    autoMigrate: true,
    batchSize: 500,
    batchLingerMs: 100,
    workerConcurrency: 4,
    jobAttempts: 8,
    retryBaseMs: 500,
    redriveIntervalMs: 10_000,
    reclaimIdleMs: 30_000
  }

  static layer(overrides: Partial<AuditSettingsShape> = {}): Layer.Layer<AuditSettings, InvalidAuditSettings> {
    const settings: AuditSettingsShape = { ...AuditSettings.defaults, ...overrides }
    const problem = validate(settings)
    return Layer.effect(
      AuditSettings,
      problem === undefined ? Effect.succeed(settings) : Effect.fail(new InvalidAuditSettings({ message: problem }))
    )
  }
}
