import { Context, Layer } from "effect"
import { integer, type SettingsOf, text } from "./settingsSchema.ts"

/** The store's slice of the configuration: keys, shards, TTLs and stream caps. */
const schema = {
  // Braces are refused: they would replace the shard hash tag.
  keyPrefix: text("REDIS_KEY_PREFIX", "sk:", "prefix of every key (no `{` or `}`)", (prefix) =>
    /[{}]/.test(prefix) ? `REDIS_KEY_PREFIX must not contain "{" or "}", got ${JSON.stringify(prefix)}` : undefined),
  shardCount: integer("SHARD_COUNT", 16, "shards (hash tags, each one cluster slot) sessions spread over; keep it fixed for a deployment's lifetime"),
  sessionTtlSeconds: integer("SESSION_TTL_SECONDS", 3600, "a live session's keys expire this long after its last command"),
  endedSessionTtlSeconds: integer("ENDED_SESSION_TTL_SECONDS", 600, "TTL once a session ended or was deleted"),
  idempotencyTtlSeconds: integer("IDEMPOTENCY_TTL_SECONDS", 86_400, "how long an `Idempotency-Key` answer is kept"),
  resumeWindowMs: integer(
    "RESUME_WINDOW_MS",
    60_000,
    "the resume window: each session's index keeps the ids of its events of this last span (trimmed at each commit, a few at a time), and audited shard-log entries are kept this long, then trimmed; resuming from further back is served from the audit"
  ),
  shardLogMaxLen: integer(
    "SHARD_LOG_MAXLEN",
    100_000,
    "hard cap of one shard log (approximate), applied by every commit: the memory bound when no audit worker runs. Past it, events the audit has not taken are lost; `/ready` and `synckairos_audit_backlog_ratio` warn at half of it"
  )
}

export type StoreSettingsShape = SettingsOf<typeof schema>

/** The store's settings, a slice of the configuration the app reads and checks once. */
export class StoreSettings extends Context.Service<StoreSettings, StoreSettingsShape>()(
  "synckairos/infra/StoreSettings"
) {
  static readonly schema = schema
  /** This slice of checked settings. */
  static readonly layerFrom = (settings: StoreSettingsShape) => Layer.succeed(StoreSettings, settings)
}
