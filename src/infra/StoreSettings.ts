import { Context, Effect, Layer, Schema } from "effect"
import { firstNonPositiveInteger } from "./settingsCheck.ts"

export class InvalidStoreSettings extends Schema.TaggedError<InvalidStoreSettings>()("InvalidStoreSettings", {
  message: Schema.String
}) {}

export interface StoreSettingsShape {
  /** Prepended to every key, e.g. "sk:". Braces are refused: they would replace the shard hash tag. */
  readonly keyPrefix: string
  /** Sessions spread over this many hash-tagged shards (each one cluster slot). */
  readonly shardCount: number
  /** TTL of a live session's keys, refreshed at each commit. */
  readonly sessionTtlSeconds: number
  /** TTL of a session's keys once it ended or was deleted. */
  readonly endedSessionTtlSeconds: number
  /**
   * The resume window: a session's stream keeps the events of this last span (trimmed with
   * `MINID ~` at each commit, so a little more), and the shard logs keep audited entries this long.
   */
  readonly resumeWindowMs: number
  /** Approximate cap (`MAXLEN ~`) of one shard log. */
  readonly shardLogMaxLen: number
  readonly idempotencyTtlSeconds: number
}

const validate = (settings: StoreSettingsShape): string | undefined => {
  if (/[{}]/.test(settings.keyPrefix)) return `keyPrefix must not contain "{" or "}": ${settings.keyPrefix}`
  return firstNonPositiveInteger(settings, [
    "shardCount",
    "sessionTtlSeconds",
    "endedSessionTtlSeconds",
    "resumeWindowMs",
    "shardLogMaxLen",
    "idempotencyTtlSeconds"
  ])
}

/** Plain store settings; the app reads its configuration and builds this layer. */
export class StoreSettings extends Context.Service<StoreSettings, StoreSettingsShape>()(
  "synckairos/infra/StoreSettings"
) {
  static readonly defaults: StoreSettingsShape = {
    keyPrefix: "sk:",
    shardCount: 16,
    sessionTtlSeconds: 3600,
    endedSessionTtlSeconds: 600,
    resumeWindowMs: 60_000,
    shardLogMaxLen: 100_000,
    idempotencyTtlSeconds: 86_400
  }

  static layer(overrides: Partial<StoreSettingsShape> = {}): Layer.Layer<StoreSettings, InvalidStoreSettings> {
    const settings: StoreSettingsShape = { ...StoreSettings.defaults, ...overrides }
    const problem = validate(settings)
    return Layer.effect(
      StoreSettings,
      problem === undefined ? Effect.succeed(settings) : Effect.fail(new InvalidStoreSettings({ message: problem }))
    )
  }
}
