import { describe, expect, it } from "vitest"
import { makeFrameBudget } from "../../src/app/ws/frameBudget.ts"

describe("frame budget", () => {
  it("allows a burst of the rate, then one frame per 1/rate seconds", () => {
    let now = 0
    const budget = makeFrameBudget(4, () => now)
    expect(Array.from({ length: 6 }, () => budget.take())).toEqual([true, true, true, true, false, false])
    now = 250
    expect([budget.take(), budget.take()]).toEqual([true, false])
    now = 10_000
    // Idle time refills to the burst, never beyond.
    expect(Array.from({ length: 5 }, () => budget.take())).toEqual([true, true, true, true, false])
  })
})
