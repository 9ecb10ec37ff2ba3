import { Config, Context, Effect, Layer } from "effect"
import { AuditSettings } from "../infra/audit/AuditSettings.ts"
import { DEFAULT_REDIS_URL, redisTargetOf } from "../infra/RedisTarget.ts"
import { InvalidConfiguration, integer, list, oneOf, problemsOf, type SettingsOf, text, textsOf } from "../infra/settingsSchema.ts"
import { StoreSettings } from "../infra/StoreSettings.ts"

export { DEFAULT_REDIS_URL } from "../infra/RedisTarget.ts"
export { InvalidConfiguration } from "../infra/settingsSchema.ts"

const MIN_API_KEY_LENGTH = 24
const MIN_TOKEN_SECRET_LENGTH = 32

const isOrigin = (text: string): boolean => {
  try {
    return new URL(text).origin === text
  } catch {
    return false
  }
}

/**
 * Every setting of the process, in the order of the operations guide's table (docs/operations.md,
 * checked against this by a test). Secrets are named by position, never shown.
 */
const schema = {
  port: integer("PORT", 3000, "HTTP port", { min: 1, max: 65_535 }),
  host: text("HOST", "0.0.0.0", "listen address"),
  // One node, or a cluster's seeds: exactly one of the two (both unset: DEFAULT_REDIS_URL).
  redisUrl: text("REDIS_URL", "", `Redis, one node; unset: \`${DEFAULT_REDIS_URL}\` (when nothing answers there, \`npm start\` runs its own)`),
  redisClusterNodes: text(
    "REDIS_CLUSTER_NODES",
    "",
    "a Redis Cluster's `host:port` seeds, comma-separated; exclusive with `REDIS_URL` ([scaling.md](scaling.md))"
  ),
  ...StoreSettings.schema,
  commandMaxAttempts: integer("COMMAND_MAX_ATTEMPTS", 20, "decide/commit attempts of an unpinned command under contention"),
  snapshotCacheSessions: integer(
    "SNAPSHOT_CACHE_SESSIONS",
    10_000,
    "sessions whose latest snapshot an instance keeps to decide their next command without a load round trip (least recently committed to leave first); `0` turns it off",
    { min: 0 }
  ),
  bodyLimitBytes: integer("BODY_LIMIT_BYTES", 1_048_576, "largest request body"),
  metadataMaxBytes: integer("METADATA_MAX_BYTES", 16_384, "largest `metadata` of a create, in bytes of its JSON; larger is a 400 naming `metadata`"),
  shutdownGraceMs: integer("SHUTDOWN_GRACE_MS", 10_000, "on SIGTERM, how long in-flight requests may take before the process exits anyway"),
  logLevel: oneOf(
    "LOG_LEVEL",
    ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    "info",
    "`fatal` … `trace`, or `silent`; every line, of every component, is one JSON object"
  ),
  apiKeys: list(
    "API_KEYS",
    "comma-separated server secrets (24+ characters each); set, every `/v1` request and `/ws` needs a credential ([security.md](security.md)); unset, access is open",
    (key, i) =>
      key.length < MIN_API_KEY_LENGTH ? `API_KEYS: key #${i + 1} is ${key.length} characters; each key needs at least ${MIN_API_KEY_LENGTH}` : undefined
  ),
  tokenSecret: text(
    "TOKEN_SECRET",
    "",
    "HS256 secret of session tokens (32+ characters), required with `API_KEYS`",
    (secret) =>
      secret !== "" && secret.length < MIN_TOKEN_SECRET_LENGTH
        ? `TOKEN_SECRET is ${secret.length} characters; it needs at least ${MIN_TOKEN_SECRET_LENGTH}`
        : undefined
  ),
  rateLimitTokenRps: integer("RATE_LIMIT_TOKEN_RPS", 20, "requests per second per session-token grant, shared by every instance through Redis"),
  rateLimitKeyRps: integer("RATE_LIMIT_KEY_RPS", 100_000, "requests per second per API key (per client address when auth is off)"),
  corsOrigins: list(
    "CORS_ORIGINS",
    "comma-separated origins a browser may call from; unset, the same origin only",
    (origin) => isOrigin(origin) ? undefined : `CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin such as https://game.example.com`
  ),
  wsPingIntervalMs: integer("WS_PING_INTERVAL_MS", 30_000, "WebSocket ping frame interval; a peer that has not answered the previous ping is dropped"),
  wsSendBufferLimitBytes: integer("WS_SEND_BUFFER_LIMIT_BYTES", 1_048_576, "bytes that may wait to be sent to one socket before it is closed with 1013"),
  wsMaxMessageBytes: integer("WS_MAX_MESSAGE_BYTES", 65_536, "largest frame a client may send; a larger one closes the socket with 1009"),
  wsMaxInvalidMessages: integer("WS_MAX_INVALID_MESSAGES", 10, "bad client frames (each answered with `ERROR`) before the socket is closed with 1008"),
  ...AuditSettings.schema,
  auditLagAlarmMs: integer(
    "AUDIT_LAG_ALARM_MS",
    30_000,
    "audit lag that raises the `audit_lag` alarm: `/ready` answers 503 `degraded` until it clears ([recovery.md](recovery.md))"
  )
}

export type AppSettings = SettingsOf<typeof schema>

/** Where PostgreSQL is looked for when DATABASE_URL is not set (Redis: DEFAULT_REDIS_URL). */
export const DEFAULT_DATABASE_URL = schema.databaseUrl.defaultValue

/** Problems no single setting shows: settings that only make sense together. */
const combinationProblemsOf = (settings: AppSettings): ReadonlyArray<string> => {
  const redis = redisTargetOf(settings)
  return [
    ...(settings.apiKeys.length > 0 && settings.tokenSecret === "" ? ["TOKEN_SECRET is required when API_KEYS is set"] : []),
    ...(redis._tag === "Invalid" ? [redis.reason] : [])
  ]
}

/**
 * The configuration as the environment (the ConfigProvider) gives it, with `overrides` replacing
 * some settings, checked once: every problem is in the one InvalidConfiguration.
 */
export const readSettings = (overrides: Partial<AppSettings> = {}) =>
  Effect.gen(function*() {
    const read = yield* Config.all(schema)
    const texts = yield* textsOf(schema)
    const settings: AppSettings = { ...read, ...overrides }
    const problems = [...problemsOf(schema, settings, texts, Object.keys(overrides)), ...combinationProblemsOf(settings)]
    if (problems.length > 0) return yield* new InvalidConfiguration({ message: problems.join("; ") })
    return settings
  })

/** Process configuration, read once from the environment; every variable is listed in docs/operations.md. */
export class AppConfig extends Context.Service<AppConfig, AppSettings>()("synckairos/app/AppConfig") {
  static readonly schema = schema
  static readonly layer = Layer.effect(AppConfig, readSettings())
}
