import { describe, expect, it } from "vitest"
import { cmd, Table } from "./decider.spec.ts"

/** global: one session clock runs whoever is active; time used is charged to the active participant. */
describe("global", () => {
  it("10 min exam: table", () => {
    const t = new Table({ syncMode: "global", totalTimeMs: 600_000 })
    const row = (time: number) => [t.remaining("A", time), t.remaining("B", time), t.used("A", time), t.used("B", time), t.deadline()]

    t.run(cmd.start, 0)
    expect(row(0)).toEqual([600_000, 600_000, 0, 0, 600_000])
    t.run(cmd.switch(), 100_000)
    expect(row(100_000)).toEqual([500_000, 500_000, 100_000, 0, 600_000])
    expect(row(250_000)).toEqual([350_000, 350_000, 100_000, 150_000, 600_000])
    t.run(cmd.pause, 250_000)
    expect(row(300_000)).toEqual([350_000, 350_000, 100_000, 150_000, null])
    t.run(cmd.resume, 400_000)
    expect(row(400_000)).toEqual([350_000, 350_000, 100_000, 150_000, 750_000])
    t.run(cmd.switch(), 800_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@750000:B[B]", "SESSION_EXPIRED@750000"])
    expect(row(800_000)).toEqual([0, 0, 100_000, 500_000, null])
    expect(t.current.status).toBe("expired")
  })

  it("switching does not reset or add to the session clock", () => {
    const t = new Table({ syncMode: "global", totalTimeMs: 60_000, participants: [{ participantId: "A" }, { participantId: "B" }, { participantId: "C" }] })
    t.run(cmd.start, 0)
    for (const time of [1_000, 2_000, 3_000, 4_500]) t.run(cmd.switch(), time)
    expect(t.lastShort()).toEqual(["CYCLE_SWITCHED@4500:A>B"])
    expect([t.remaining("C", 4_500), t.deadline()]).toEqual([55_500, 60_000])
    expect(["A", "B", "C"].map((id) => t.used(id, 4_500))).toEqual([2_500, 1_000, 1_000])
  })

  it("skip_cycle: nobody has time left on the shared clock, so the session expires", () => {
    const t = new Table({ syncMode: "global", totalTimeMs: 5_000, actionOnTimeout: "skip_cycle" })
    t.run(cmd.start, 0)
    t.run(cmd.switch(), 9_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@5000:A[A]", "SESSION_EXPIRED@5000"])
  })

  it("notify: the session keeps running at zero; an explicit switch still passes the turn", () => {
    const t = new Table({ syncMode: "global", totalTimeMs: 5_000, actionOnTimeout: "notify" })
    t.run(cmd.start, 0)
    t.run(cmd.switch("B"), 9_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@5000:A[]", "CYCLE_SWITCHED@9000:A>B"])
    expect([t.current.status, t.remaining("B", 20_000), t.used("A", 20_000), t.used("B", 20_000), t.deadline()]).toEqual([
      "running", 0, 5_000, 0, null
    ])
    t.run(cmd.complete, 20_000)
    expect(t.current.status).toBe("completed")
  })
})
