/**
 * Effect's logging goes through the process's pino logger: one JSON shape for both, and LOG_LEVEL is
 * Effect's minimum level too (debug lines appear at debug, info lines are not even built at warn).
 */
import { Writable } from "node:stream"
import { Effect, Layer, ManagedRuntime } from "effect"
import { describe, expect, it } from "vitest"
import type { AppSettings } from "../../src/app/AppConfig.ts"
import { configLayer } from "../support/settings.ts"
import { createProcessLogger, loggingLayer } from "../../src/app/logger.ts"

const logged = async (logLevel: AppSettings["logLevel"], program: Effect.Effect<void>) => {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter((l) => l !== "")) lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    }
  })
  // The root starts at info, as before the configuration is read; the configuration's level then applies.
  const root = createProcessLogger("info", sink)
  const runtime = ManagedRuntime.make(loggingLayer(root).pipe(Layer.provide(configLayer({ logLevel }))))
  await runtime.runPromise(program)
  await runtime.dispose()
  return lines
}

describe("Effect's logging", () => {
  it("writes pino's JSON shape: level as a word, msg, component, fields and details", async () => {
    const lines = await logged(
      "info",
      Effect.logWarning("shard check failed", { shard: 3 }, "unreachable").pipe(Effect.annotateLogs("component", "clock"))
    )
    expect(lines).toEqual([
      expect.objectContaining({ level: "warn", msg: "shard check failed", component: "clock", shard: 3, details: ["unreachable"], time: expect.any(Number) })
    ])
  })

  it("names the process as the component of a line whose effect names none", async () => {
    const lines = await logged("info", Effect.logError("no component"))
    expect(lines).toEqual([expect.objectContaining({ level: "error", msg: "no component", component: "process" })])
  })

  it("takes LOG_LEVEL as its minimum level: debug lines at debug, nothing below warn at warn", async () => {
    const all = Effect.all([Effect.logDebug("a debug line"), Effect.logInfo("an info line"), Effect.logWarning("a warning")])
    expect((await logged("debug", Effect.asVoid(all))).map((line) => line["level"])).toEqual(["debug", "info", "warn"])
    let built = 0
    const costly = Effect.logInfo({ toString: () => String(++built) })
    expect((await logged("warn", Effect.andThen(costly, Effect.asVoid(all)))).map((line) => line["msg"])).toEqual(["a warning"])
    // Below the minimum level the logger is not called at all, so the message is never rendered.
    expect(built).toBe(0)
  })
})
