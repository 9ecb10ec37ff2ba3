/** The batcher that gathers every shard log's reads within a linger into one audit job. */
import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { makeLingerBatcher } from "../../src/infra/audit/lingerBatcher.ts"

const LINGER_MS = 100

/** A batcher of numbers whose flushes are recorded; `failWith` makes the next flush fail. */
const recording = (maxSize = 10) => {
  const flushes: Array<ReadonlyArray<number>> = []
  let failWith: string | undefined
  const batcher = makeLingerBatcher({
    lingerMs: LINGER_MS,
    maxSize,
    sizeOf: (n: number) => n,
    flush: (items) =>
      Effect.suspend(() => {
        flushes.push(items)
        const error = failWith
        failWith = undefined
        return error === undefined ? Effect.void : Effect.fail(error)
      })
  })
  return { batcher, flushes, failNext: (error: string) => void (failWith = error) }
}

const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = performance.now()
    const result = yield* Effect.result(effect)
    return { result, ms: performance.now() - start }
  })

describe("the linger batcher", () => {
  it("flushes what is submitted within the linger once, and resumes every submitter after it", async () => {
    const { batcher, flushes } = recording()
    const timings = await Effect.runPromise(Effect.gen(function*() {
      const first = yield* Effect.forkChild(timed(batcher.submit(1)))
      yield* Effect.sleep(20)
      const second = yield* Effect.forkChild(timed(batcher.submit(2)))
      return [yield* Fiber.join(first), yield* Fiber.join(second)]
    }))
    expect(flushes).toEqual([[1, 2]])
    for (const { result } of timings) expect(result._tag).toBe("Success")
    // The batch waited out the linger from its first item.
    expect(timings[0]!.ms).toBeGreaterThanOrEqual(LINGER_MS - 5)
  })

  it("flushes a full batch without waiting out the linger", async () => {
    const { batcher, flushes } = recording(5)
    const { ms } = await Effect.runPromise(Effect.gen(function*() {
      const first = yield* Effect.forkChild(timed(batcher.submit(2)))
      yield* Effect.sleep(10)
      yield* batcher.submit(3)
      return yield* Fiber.join(first)
    }))
    expect(flushes).toEqual([[2, 3]])
    expect(ms).toBeLessThan(LINGER_MS)
  })

  it("opens a new batch for what comes once a batch is flushing", async () => {
    const { batcher, flushes } = recording()
    await Effect.runPromise(Effect.gen(function*() {
      yield* batcher.submit(1)
      yield* batcher.submit(2)
    }))
    expect(flushes).toEqual([[1], [2]])
  })

  it("gives every submitter of a batch the flush's failure, and the next batch flushes again", async () => {
    const { batcher, flushes, failNext } = recording()
    failNext("PostgreSQL is down")
    const results = await Effect.runPromise(Effect.gen(function*() {
      const fibers = yield* Effect.forEach([1, 2], (n) => Effect.forkChild(Effect.result(batcher.submit(n))))
      return yield* Effect.forEach(fibers, Fiber.join)
    }))
    expect(results.map((result) => result._tag)).toEqual(["Failure", "Failure"])
    await Effect.runPromise(batcher.submit(3))
    expect(flushes).toEqual([[1, 2], [3]])
  })

  it("does not leave the submitters that joined waiting when the batch's opener is interrupted", async () => {
    const { batcher, flushes } = recording()
    const exit = await Effect.runPromise(Effect.gen(function*() {
      const opener = yield* Effect.forkChild(batcher.submit(1))
      yield* Effect.sleep(10)
      const joined = yield* Effect.forkChild(batcher.submit(2))
      yield* Effect.sleep(10)
      yield* Fiber.interrupt(opener)
      return yield* Fiber.await(joined)
    }))
    expect(exit._tag).toBe("Failure")
    expect(flushes).toEqual([])
  })
})
