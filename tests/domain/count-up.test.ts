import { describe, expect, it } from "vitest"
import { countUpCap, DAY } from "../../src/domain/index.ts"
import { cmd, Table } from "./decider.spec.ts"

/** count_up: counts up to max_time_ms (24 h by default), run as a hidden bank counting down. */
describe("count_up", () => {
  it("1 h stopwatch: elapsed = cap - remaining = sum of time used; the cap is the deadline", () => {
    const t = new Table({ syncMode: "count_up", maxTimeMs: 3_600_000 })
    const elapsed = (time: number) => countUpCap(t.current.config) - t.remaining("A", time)
    const used = (time: number) => t.used("A", time) + t.used("B", time)

    t.run(cmd.start, 0)
    expect([elapsed(0), t.deadline()]).toEqual([0, 3_600_000])
    expect([elapsed(90_000), used(90_000)]).toEqual([90_000, 90_000])
    t.run(cmd.switch(), 90_000)
    expect(t.lastShort()).toEqual(["CYCLE_SWITCHED@90000:A>B"])
    expect([elapsed(95_000), t.remaining("B", 95_000), t.used("A", 95_000), t.used("B", 95_000)]).toEqual([95_000, 3_505_000, 90_000, 5_000])
    t.run(cmd.pause, 100_000)
    expect([elapsed(150_000), t.deadline()]).toEqual([100_000, null])
    t.run(cmd.resume, 200_000)
    expect([elapsed(200_000), t.deadline()]).toEqual([100_000, 3_700_000])
    t.run(cmd.switch(), 4_000_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@3700000:B[B]", "SESSION_EXPIRED@3700000"])
    expect([elapsed(4_000_000), used(4_000_000), t.used("B", 4_000_000)]).toEqual([3_600_000, 3_600_000, 3_510_000])
  })

  it("without max_time_ms the cap is 24 h, whatever total_time_ms says", () => {
    const t = new Table({ syncMode: "count_up", totalTimeMs: 1_000 })
    expect(countUpCap(t.current.config)).toBe(DAY)
    expect(DAY).toBe(86_400_000)
    t.run(cmd.start, 0)
    expect(t.deadline()).toBe(86_400_000)
    expect(t.remaining("A", 86_399_999)).toBe(1)
    t.run(cmd.switch(), 86_399_999)
    expect(t.lastShort()).toEqual(["CYCLE_SWITCHED@86399999:A>B"])
    t.run(cmd.switch(), 86_400_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@86400000:B[B]", "SESSION_EXPIRED@86400000"])
    expect([t.used("A", 86_400_000), t.used("B", 86_400_000)]).toEqual([86_399_999, 1])
  })

  it("at the cap with end_session (default) the session expires at the cap", () => {
    const t = new Table({ syncMode: "count_up", maxTimeMs: 10_000 })
    t.run(cmd.start, 0)
    t.run(cmd.switch(), 12_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@10000:A[A]", "SESSION_EXPIRED@10000"])
    expect(t.used("A", 12_000)).toBe(10_000)
  })

  it("at the cap with notify the clock stops at the cap and the session runs on", () => {
    const t = new Table({ syncMode: "count_up", maxTimeMs: 10_000, actionOnTimeout: "notify" })
    t.run(cmd.start, 0)
    t.run(cmd.complete, 30_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@10000:A[]", "SESSION_COMPLETED@30000"])
    expect([t.current.status, t.used("A", 30_000), t.remaining("A", 30_000)]).toEqual(["completed", 10_000, 0])
  })
})
