import { describe, expect, it } from "vitest"
import { Effect, Layer, ManagedRuntime } from "effect"
import { RedisClient } from "../../src/infra/RedisClient.ts"
import { ServerClock } from "../../src/infra/ServerClock.ts"
import { redisUrl } from "../support/redis.ts"

const redisTimeMs = (redis: RedisClient["Service"]) =>
  redis.use(async (connection) => {
    const [seconds, micros] = await connection.time()
    return Number(seconds) * 1000 + Number(micros) / 1000
  })

/** The real client, counting the commands the clock sends through it. */
const countingClient = () => {
  const calls = { count: 0 }
  const layer = Layer.effect(
    RedisClient,
    Effect.map(Effect.service(RedisClient), (redis) =>
      RedisClient.of({
        ...redis,
        use: (f) =>
          redis.use((connection) => {
            calls.count++
            return f(connection)
          })
      }))
  ).pipe(Layer.provide(RedisClient.layer(redisUrl)))
  return { calls, layer }
}

describe("ServerClock", () => {
  it("serves Redis TIME within a few ms, without going backwards", async () => {
    const runtime = ManagedRuntime.make(
      ServerClock.layer({ recalibrateMs: 50 }).pipe(Layer.provideMerge(RedisClient.layer(redisUrl)))
    )
    try {
      const { clock, redis } = await runtime.runPromise(
        Effect.all({ clock: Effect.service(ServerClock), redis: Effect.service(RedisClient) })
      )
      for (let i = 0; i < 20; i++) {
        const before = await runtime.runPromise(clock.nowMs)
        const server = await runtime.runPromise(redisTimeMs(redis))
        const after = await runtime.runPromise(clock.nowMs)
        expect(Number.isInteger(before)).toBe(true)
        expect(server).toBeGreaterThanOrEqual(before - 5)
        expect(server).toBeLessThanOrEqual(after + 5)
      }

      // Across several recalibrations.
      let previous = 0
      const until = performance.now() + 300
      while (performance.now() < until) {
        const now = await runtime.runPromise(clock.nowMs)
        expect(now).toBeGreaterThanOrEqual(previous)
        previous = now
      }
    } finally {
      await runtime.dispose()
    }
  })

  it("recalibrates in the background until the layer closes", async () => {
    const { calls, layer } = countingClient()
    const runtime = ManagedRuntime.make(ServerClock.layer({ recalibrateMs: 20, samples: 1 }).pipe(Layer.provide(layer)))
    await runtime.runPromise(Effect.service(ServerClock))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(calls.count).toBeGreaterThanOrEqual(4)

    await runtime.dispose()
    const afterClose = calls.count
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(calls.count).toBe(afterClose)
  })
})
