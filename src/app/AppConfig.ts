import { Config, Context, Effect, Layer, Schema } from "effect"
import { redisTargetOf } from "../infra/RedisTarget.ts"

export { DEFAULT_REDIS_URL } from "../infra/RedisTarget.ts"
/** Where PostgreSQL is looked for when DATABASE_URL is not set (Redis: DEFAULT_REDIS_URL). */
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/synckairos"

/** A comma-separated list; blanks around items are ignored, an empty or unset variable is an empty list. */
const list = (name: string) =>
  Config.String(name).pipe(
    Config.withDefault(""),
    Config.map((text): ReadonlyArray<string> => text.split(",").map((item) => item.trim()).filter((item) => item !== ""))
  )

const settings = Config.all({
  port: Config.Port("PORT").pipe(Config.withDefault(3000)),
  host: Config.String("HOST").pipe(Config.withDefault("0.0.0.0")),
  // One node, or a cluster's seeds: exactly one of the two (both empty: redis://127.0.0.1:6379).
  redisUrl: Config.String("REDIS_URL").pipe(Config.withDefault("")),
  redisClusterNodes: Config.String("REDIS_CLUSTER_NODES").pipe(Config.withDefault("")),
  keyPrefix: Config.String("REDIS_KEY_PREFIX").pipe(Config.withDefault("sk:")),
  shardCount: Config.Int("SHARD_COUNT").pipe(Config.withDefault(16)),
  sessionTtlSeconds: Config.Int("SESSION_TTL_SECONDS").pipe(Config.withDefault(3600)),
  endedSessionTtlSeconds: Config.Int("ENDED_SESSION_TTL_SECONDS").pipe(Config.withDefault(600)),
  idempotencyTtlSeconds: Config.Int("IDEMPOTENCY_TTL_SECONDS").pipe(Config.withDefault(86_400)),
  resumeWindowMs: Config.Int("RESUME_WINDOW_MS").pipe(Config.withDefault(60_000)),
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
  databaseUrl: Config.String("DATABASE_URL").pipe(Config.withDefault(DEFAULT_DATABASE_URL)),
  databaseAutoMigrate: Config.Boolean("DATABASE_AUTO_MIGRATE").pipe(Config.withDefault(true)),
  auditBatchSize: Config.Int("AUDIT_BATCH_SIZE").pipe(Config.withDefault(500)),
  auditBatchLingerMs: Config.Int("AUDIT_BATCH_LINGER_MS").pipe(Config.withDefault(100)),
  auditWorkerConcurrency: Config.Int("AUDIT_WORKER_CONCURRENCY").pipe(Config.withDefault(4)),
  auditJobAttempts: Config.Int("AUDIT_JOB_ATTEMPTS").pipe(Config.withDefault(8)),
  auditRetryBaseMs: Config.Int("AUDIT_RETRY_BASE_MS").pipe(Config.withDefault(500)),
  auditRedriveIntervalMs: Config.Int("AUDIT_REDRIVE_INTERVAL_MS").pipe(Config.withDefault(10_000)),
  auditReclaimIdleMs: Config.Int("AUDIT_RECLAIM_IDLE_MS").pipe(Config.withDefault(30_000)),
  // Access control: auth is on when API_KEYS is set. Secrets are checked, never printed.
  apiKeys: list("API_KEYS"),
  tokenSecret: Config.String("TOKEN_SECRET").pipe(Config.withDefault("")),
  rateLimitTokenRps: Config.Int("RATE_LIMIT_TOKEN_RPS").pipe(Config.withDefault(20)),
  rateLimitKeyRps: Config.Int("RATE_LIMIT_KEY_RPS").pipe(Config.withDefault(100_000)),
  corsOrigins: list("CORS_ORIGINS"),
  auditLagAlarmMs: Config.Int("AUDIT_LAG_ALARM_MS").pipe(Config.withDefault(30_000)),
  logLevel: Config.Literals(["fatal", "error", "warn", "info", "debug", "trace", "silent"], "LOG_LEVEL").pipe(
    Config.withDefault("info" as const)
  )
})

export type AppSettings = Config.Success<typeof settings>

export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>()("InvalidConfiguration", {
  message: Schema.String
}) {}

const MIN_API_KEY_LENGTH = 24
const MIN_TOKEN_SECRET_LENGTH = 32

const isOrigin = (text: string): boolean => {
  try {
    return new URL(text).origin === text
  } catch {
    return false
  }
}

/** What makes the access settings unusable; secrets are named by position, never shown. */
const accessProblemsOf = (s: AppSettings): Array<string> => [
  ...s.apiKeys.flatMap((key, i) =>
    key.length < MIN_API_KEY_LENGTH ? [`API_KEYS: key #${i + 1} is ${key.length} characters; each key needs at least ${MIN_API_KEY_LENGTH}`] : []),
  ...(s.apiKeys.length > 0 && s.tokenSecret === "" ? ["TOKEN_SECRET is required when API_KEYS is set"] : []),
  ...(s.tokenSecret !== "" && s.tokenSecret.length < MIN_TOKEN_SECRET_LENGTH
    ? [`TOKEN_SECRET is ${s.tokenSecret.length} characters; it needs at least ${MIN_TOKEN_SECRET_LENGTH}`]
    : []),
  ...s.corsOrigins.flatMap((origin) =>
    isOrigin(origin) ? [] : [`CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin such as https://game.example.com`])
]

/** Store settings (prefix, shard count, TTLs, caps) are checked where they are used: StoreSettings. */
const problemsOf = (s: AppSettings): Array<string> => {
  const redis = redisTargetOf(s)
  return Object.entries({
    COMMAND_MAX_ATTEMPTS: s.commandMaxAttempts,
    BODY_LIMIT_BYTES: s.bodyLimitBytes,
    METADATA_MAX_BYTES: s.metadataMaxBytes,
    SHUTDOWN_GRACE_MS: s.shutdownGraceMs,
    WS_PING_INTERVAL_MS: s.wsPingIntervalMs,
    WS_SEND_BUFFER_LIMIT_BYTES: s.wsSendBufferLimitBytes,
    WS_MAX_MESSAGE_BYTES: s.wsMaxMessageBytes,
    WS_MAX_INVALID_MESSAGES: s.wsMaxInvalidMessages,
    RATE_LIMIT_TOKEN_RPS: s.rateLimitTokenRps,
    RATE_LIMIT_KEY_RPS: s.rateLimitKeyRps,
    AUDIT_LAG_ALARM_MS: s.auditLagAlarmMs
  })
    .filter(([, value]) => value <= 0)
    .map(([name, value]) => `${name} must be a positive integer, got ${value}`)
    .concat(s.snapshotCacheSessions < 0 ? [`SNAPSHOT_CACHE_SESSIONS must be 0 (off) or a positive integer, got ${s.snapshotCacheSessions}`] : [])
    .concat(accessProblemsOf(s))
    .concat(redis._tag === "Invalid" ? [redis.reason] : [])
}

const checked = (s: AppSettings) => {
  const problems = problemsOf(s)
  return problems.length === 0 ? Effect.succeed(s) : Effect.fail(new InvalidConfiguration({ message: problems.join("; ") }))
}

/** Process configuration, read once from the environment; every variable is listed in docs/operations.md. */
export class AppConfig extends Context.Service<AppConfig, AppSettings>()("synckairos/app/AppConfig") {
  static readonly layer = Layer.effect(AppConfig, Effect.flatMap(settings, checked))
  /** The environment's settings with some replaced, as tests and benchmarks need. */
  static readonly layerWith = (overrides: Partial<AppSettings>) =>
    Layer.effect(AppConfig, Effect.flatMap(settings, (base) => checked({ ...base, ...overrides })))
}
