/** The NTP-style offset estimate and the reconnect backoff. */
import { describe, expect, it } from "vitest"
import { Backoff, ClockEstimator } from "../../client/src/index.ts"

describe("ClockEstimator", () => {
  it("starts at offset 0 and takes the offset of a sample as server time minus its midpoint", () => {
    let local = 10_000
    const clock = new ClockEstimator({ now: () => local })
    expect(clock.offsetMs).toBe(0)
    expect(clock.serverNow()).toBe(10_000)
    clock.add(1_000, 5_010, 1_020) // midpoint 1010: the server is 4000 ms ahead
    expect(clock.offsetMs).toBe(4_000)
    local = 20_000
    expect(clock.serverNow()).toBe(24_000)
  })

  it("trusts the samples with the lowest round trips, whatever the others say", () => {
    const clock = new ClockEstimator({ best: 2 })
    clock.add(0, 1_010, 20) // rtt 20, offset 1000
    clock.add(100, 1_310, 120) // rtt 20, offset 1200
    clock.add(200, 9_000, 600) // rtt 400, queued somewhere: offset 8600
    clock.add(1_000, 2_000, 1_900) // rtt 900
    expect(clock.offsetMs).toBe(1_100)
    expect(clock.bestRttMs).toBe(20)
  })

  it("forgets samples older than its window, so the estimate follows a drifting clock", () => {
    const clock = new ClockEstimator({ window: 3, best: 1 })
    clock.add(0, 500, 10) // rtt 10, offset 495
    for (let i = 1; i <= 3; i++) clock.add(i * 100, i * 100 + 50 + 700, i * 100 + 100) // rtt 100, offset 700
    expect(clock.sampleCount).toBe(3)
    expect(clock.offsetMs).toBe(700)
  })

  it("ignores samples that cannot be true", () => {
    const clock = new ClockEstimator()
    clock.add(100, 5_000, 50)
    clock.add(100, Number.NaN, 150)
    expect(clock.sampleCount).toBe(0)
  })
})

describe("Backoff", () => {
  it("doubles from the first delay up to the cap, and starts over after a reset", () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000, jitter: 0 })
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next())).toEqual([100, 200, 400, 800, 1_000, 1_000])
    backoff.reset()
    expect(backoff.next()).toBe(100)
  })

  it("spreads each delay by the jitter, within the cap", () => {
    const low = new Backoff({ initialMs: 1_000, maxMs: 10_000, jitter: 0.5, random: () => 0 })
    const high = new Backoff({ initialMs: 1_000, maxMs: 10_000, jitter: 0.5, random: () => 0.999999 })
    expect(low.next()).toBe(500)
    expect(high.next()).toBe(1_500)
    const capped = new Backoff({ initialMs: 10_000, maxMs: 10_000, jitter: 0.5, random: () => 0.999999 })
    expect(capped.next()).toBe(10_000)
  })
})
