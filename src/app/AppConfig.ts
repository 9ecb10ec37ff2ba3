import { Config, Context, Effect, Layer, Schema } from "effect"

const settings = Config.all({
  port: Config.Port("PORT").pipe(Config.withDefault(3000)),
  host: Config.String("HOST").pipe(Config.withDefault("0.0.0.0")),
  redisUrl: Config.String("REDIS_URL").pipe(Config.withDefault("redis://127.0.0.1:6379")),
  keyPrefix: Config.String("REDIS_KEY_PREFIX").pipe(Config.withDefault("sk:")),
  shardCount: Config.Int("SHARD_COUNT").pipe(Config.withDefault(16)),
  sessionTtlSeconds: Config.Int("SESSION_TTL_SECONDS").pipe(Config.withDefault(3600)),
  endedSessionTtlSeconds: Config.Int("ENDED_SESSION_TTL_SECONDS").pipe(Config.withDefault(600)),
  idempotencyTtlSeconds: Config.Int("IDEMPOTENCY_TTL_SECONDS").pipe(Config.withDefault(86_400)),
  sessionStreamMaxLen: Config.Int("SESSION_STREAM_MAXLEN").pipe(Config.withDefault(10_000)),
  shardLogMaxLen: Config.Int("SHARD_LOG_MAXLEN").pipe(Config.withDefault(100_000)),
  commandMaxAttempts: Config.Int("COMMAND_MAX_ATTEMPTS").pipe(Config.withDefault(20)),
  snapshotCacheSessions: Config.Int("SNAPSHOT_CACHE_SESSIONS").pipe(Config.withDefault(10_000)),
  bodyLimitBytes: Config.Int("BODY_LIMIT_BYTES").pipe(Config.withDefault(1_048_576)),
  metadataMaxBytes: Config.Int("METADATA_MAX_BYTES").pipe(Config.withDefault(16_384)),
  shutdownGraceMs: Config.Int("SHUTDOWN_GRACE_MS").pipe(Config.withDefault(10_000)),
  wsPingIntervalMs: Config.Int("WS_PING_INTERVAL_MS").pipe(Config.withDefault(30_000)),
  wsSendBufferLimitBytes: Config.Int("WS_SEND_BUFFER_LIMIT_BYTES").pipe(Config.withDefault(1_048_576)),
  wsMaxMessageBytes: Config.Int("WS_MAX_MESSAGE_BYTES").pipe(Config.withDefault(65_536)),
  wsMaxInvalidMessages: Config.Int("WS_MAX_INVALID_MESSAGES").pipe(Config.withDefault(10)),
  // The audit's settings are checked where they are used: AuditSettings.
  databaseUrl: Config.String("DATABASE_URL").pipe(Config.withDefault("postgres://postgres@127.0.0.1:5432/synckairos")),
  databaseAutoMigrate: Config.Boolean("DATABASE_AUTO_MIGRATE").pipe(Config.withDefault(true)),
  auditBatchSize: Config.Int("AUDIT_BATCH_SIZE").pipe(Config.withDefault(500)),
  auditBatchLingerMs: Config.Int("AUDIT_BATCH_LINGER_MS").pipe(Config.withDefault(100)),
  auditWorkerConcurrency: Config.Int("AUDIT_WORKER_CONCURRENCY").pipe(Config.withDefault(4)),
  auditJobAttempts: Config.Int("AUDIT_JOB_ATTEMPTS").pipe(Config.withDefault(8)),
  auditRetryBaseMs: Config.Int("AUDIT_RETRY_BASE_MS").pipe(Config.withDefault(500)),
  auditRedriveIntervalMs: Config.Int("AUDIT_REDRIVE_INTERVAL_MS").pipe(Config.withDefault(10_000)),
  auditReclaimIdleMs: Config.Int("AUDIT_RECLAIM_IDLE_MS").pipe(Config.withDefault(30_000)),
  shardLogRetentionMs: Config.Int("SHARD_LOG_RETENTION_MS").pipe(Config.withDefault(600_000)),
  logLevel: Config.Literals(["fatal", "error", "warn", "info", "debug", "trace", "silent"], "LOG_LEVEL").pipe(
    Config.withDefault("info" as const)
  )
})

export type AppSettings = Config.Success<typeof settings>

export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>()("InvalidConfiguration", {
  message: Schema.String
}) {}

/** Store settings (prefix, shard count, TTLs, caps) are checked where they are used: StoreSettings. */
const problemsOf = (s: AppSettings): Array<string> =>
  Object.entries({
    COMMAND_MAX_ATTEMPTS: s.commandMaxAttempts,
    BODY_LIMIT_BYTES: s.bodyLimitBytes,
    METADATA_MAX_BYTES: s.metadataMaxBytes,
    SHUTDOWN_GRACE_MS: s.shutdownGraceMs,
    WS_PING_INTERVAL_MS: s.wsPingIntervalMs,
    WS_SEND_BUFFER_LIMIT_BYTES: s.wsSendBufferLimitBytes,
    WS_MAX_MESSAGE_BYTES: s.wsMaxMessageBytes,
    WS_MAX_INVALID_MESSAGES: s.wsMaxInvalidMessages
  })
    .filter(([, value]) => value <= 0)
    .map(([name, value]) => `${name} must be a positive integer, got ${value}`)
    .concat(s.snapshotCacheSessions < 0 ? [`SNAPSHOT_CACHE_SESSIONS must be 0 (off) or a positive integer, got ${s.snapshotCacheSessions}`] : [])

const checked = (s: AppSettings) => {
  const problems = problemsOf(s)
  return problems.length === 0 ? Effect.succeed(s) : Effect.fail(new InvalidConfiguration({ message: problems.join("; ") }))
}

/** Process configuration, read once from the environment; every variable is listed in the README. */
export class AppConfig extends Context.Service<AppConfig, AppSettings>()("synckairos/app/AppConfig") {
  static readonly layer = Layer.effect(AppConfig, Effect.flatMap(settings, checked))
  /** The environment's settings with some replaced, as tests and benchmarks need. */
  static readonly layerWith = (overrides: Partial<AppSettings>) =>
    Layer.effect(AppConfig, Effect.flatMap(settings, (base) => checked({ ...base, ...overrides })))
}
