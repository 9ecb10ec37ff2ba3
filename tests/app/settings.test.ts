/** The configuration's one schema: read once from the environment, every problem named, and the operations guide listing it. */
import { readFileSync } from "node:fs"
import { ConfigProvider, Effect } from "effect"
import { describe, expect, it } from "vitest"
import { AppConfig, type AppSettings, readSettings } from "../../src/app/AppConfig.ts"

const readFrom = (env: Record<string, string>, overrides: Partial<AppSettings> = {}) =>
  Effect.runPromise(Effect.result(readSettings(overrides).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })))))

const problemOf = async (env: Record<string, string>, overrides: Partial<AppSettings> = {}): Promise<string> => {
  const result = await readFrom(env, overrides)
  return result._tag === "Failure" ? result.failure.message : "accepted"
}

const settingsOf = async (env: Record<string, string>): Promise<AppSettings> => {
  const result = await readFrom(env)
  if (result._tag === "Failure") throw new Error(result.failure.message)
  return result.success
}

describe("reading the configuration", () => {
  it("takes each setting's default when its variable is unset or blank", async () => {
    const settings = await settingsOf({ SHARD_COUNT: "", LOG_LEVEL: "  " })
    expect(settings).toEqual(Object.fromEntries(Object.entries(AppConfig.schema).map(([name, setting]) => [name, setting.defaultValue])))
  })

  it("reads each kind of variable", async () => {
    const settings = await settingsOf({
      PORT: "8080",
      SHARD_COUNT: " 32 ",
      DATABASE_AUTO_MIGRATE: "false",
      LOG_LEVEL: "debug",
      CORS_ORIGINS: "https://a.example.com, https://b.example.com,",
      REDIS_KEY_PREFIX: "app:"
    })
    expect(settings).toMatchObject({
      port: 8080,
      shardCount: 32,
      databaseAutoMigrate: false,
      logLevel: "debug",
      corsOrigins: ["https://a.example.com", "https://b.example.com"],
      keyPrefix: "app:"
    })
  })

  it("refuses every problem at once, each naming its variable and why", async () => {
    const message = await problemOf({
      PORT: "http",
      SHARD_COUNT: "0",
      SNAPSHOT_CACHE_SESSIONS: "-1",
      DATABASE_AUTO_MIGRATE: "maybe",
      LOG_LEVEL: "loud",
      REDIS_KEY_PREFIX: "sk:{x}:",
      DATABASE_URL: "mysql://user:secret@db/synckairos",
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_CLUSTER_NODES: "127.0.0.1:7000"
    })
    expect(message.split("; ")).toEqual([
      "PORT must be an integer from 1 to 65535, got \"http\"",
      "REDIS_KEY_PREFIX must not contain \"{\" or \"}\", got \"sk:{x}:\"",
      "SHARD_COUNT must be a positive integer, got 0",
      "SNAPSHOT_CACHE_SESSIONS must be 0 or a positive integer, got -1",
      "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got \"loud\"",
      "DATABASE_URL must start with postgres:// or postgresql://",
      "DATABASE_AUTO_MIGRATE must be true or false, got \"maybe\"",
      expect.stringMatching(/^REDIS_URL and REDIS_CLUSTER_NODES are both set/)
    ])
    expect(message).not.toContain("secret")
  })

  it("checks given settings as it checks variables", async () => {
    expect(await problemOf({}, { auditBatchSize: 0, port: 70_000 })).toBe(
      "PORT must be an integer from 1 to 65535, got 70000; AUDIT_BATCH_SIZE must be a positive integer, got 0"
    )
    // A given setting replaces its variable, unreadable text included.
    expect(await problemOf({ SHARD_COUNT: "many" }, { shardCount: 4 })).toBe("accepted")
  })
})

describe("the operations guide", () => {
  it("lists every variable, with its default, as the schema says", () => {
    const guide = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8")
    const table = /<!-- settings -->\n([\s\S]*?)\n<!-- \/settings -->/.exec(guide)?.[1]
    const rows = Object.values(AppConfig.schema).map((s) => `| \`${s.variable}\` | ${s.shownDefault} | ${s.meaning} |`)
    expect(table).toBe(["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n"))
  })
})
