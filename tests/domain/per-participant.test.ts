import { describe, expect, it } from "vitest"
import { bankOf, type Command, nextParticipant } from "../../src/domain/index.ts"
import { at, cmd, Table } from "./decider.spec.ts"

/**
 * per_participant: each participant runs down an own bank; the Fischer increment is added after a turn
 * that completed with time left. Rows: instant (ms after creation), command, then per participant
 * [remaining, time used, cycles] right after the command, and the deadline (ms after creation).
 */
describe("per_participant", () => {
  it("chess clock, 60 s + 2 s: switches, pause and resume, table", () => {
    const t = new Table({ syncMode: "per_participant", totalTimeMs: 60_000, incrementMs: 2_000 })
    const look = null
    type Row = [number, Command | null, [number, number, number], [number, number, number], number | null]
    const rows: Array<Row> = [
      //  t        command    A: left, used, cycles   B: left, used, cycles  deadline
      [0, look, [60_000, 0, 0], [60_000, 0, 0], null],
      [1_000, cmd.start, [60_000, 0, 0], [60_000, 0, 0], 61_000],
      [11_000, cmd.switch(), [52_000, 10_000, 1], [60_000, 0, 0], 71_000],
      [11_000, look, [52_000, 10_000, 1], [60_000, 0, 0], 71_000],
      [26_500, look, [52_000, 10_000, 1], [44_500, 15_500, 0], 71_000],
      [31_000, cmd.switch(), [52_000, 10_000, 1], [42_000, 20_000, 1], 83_000],
      [31_001, cmd.switch(), [53_999, 10_001, 2], [42_000, 20_000, 1], 73_001],
      [40_000, cmd.pause, [53_999, 10_001, 2], [33_001, 28_999, 1], null],
      [100_000, look, [53_999, 10_001, 2], [33_001, 28_999, 1], null],
      [100_000, cmd.resume, [53_999, 10_001, 2], [33_001, 28_999, 1], 133_001],
      [110_000, look, [53_999, 10_001, 2], [23_001, 38_999, 1], 133_001],
      // A pause ends no turn, so it earns no increment; the next switch does.
      [110_000, cmd.switch(), [53_999, 10_001, 2], [25_001, 38_999, 2], 163_999]
    ]
    for (const [time, command, a, b, deadline] of rows) {
      if (command !== null) t.run(command, time)
      const label = `${command?.type ?? "look"} at ${time}`
      expect([t.remaining("A", time), t.used("A", time), t.participant("A").cycleCount], label).toEqual(a)
      expect([t.remaining("B", time), t.used("B", time), t.participant("B").cycleCount], label).toEqual(b)
      expect(t.deadline(), label).toBe(deadline)
    }
  })

  it("remaining time is computed from timestamps at any instant, clamped at zero", () => {
    const t = new Table({ syncMode: "per_participant", totalTimeMs: 10_000 })
    t.run(cmd.start, 0)
    expect([-5_000, 0, 1, 9_999, 10_000, 10_001, 99_000].map((i) => t.remaining("A", i))).toEqual([
      10_000, 10_000, 9_999, 1, 0, 0, 0
    ])
    expect([-5_000, 0, 1, 9_999, 10_000, 10_001, 99_000].map((i) => t.used("A", i))).toEqual([
      0, 0, 1, 9_999, 10_000, 10_000, 10_000
    ])
    // The waiting participant's clock does not move.
    expect(t.remaining("B", 99_000)).toBe(10_000)
    // bankOf is the clock as of the start of the running segment.
    expect(bankOf(t.current, t.participant("A"))).toBe(10_000)
  })

  it("participants may hold different banks", () => {
    const t = new Table({
      syncMode: "per_participant",
      totalTimeMs: 60_000,
      participants: [{ participantId: "A", totalTimeMs: 30_000 }, { participantId: "B" }, { participantId: "C", totalTimeMs: 5_000 }]
    })
    expect(["A", "B", "C"].map((id) => t.remaining(id, 0))).toEqual([30_000, 60_000, 5_000])
    t.run(cmd.start, 0)
    expect(t.deadline()).toBe(30_000)
    t.run(cmd.switch(), 1_000)
    t.run(cmd.switch(), 2_000)
    expect(t.deadline()).toBe(7_000)
  })

  it("the turn passes in participant_index order and wraps around; an explicit target jumps", () => {
    const t = new Table({
      syncMode: "per_participant",
      participants: [{ participantId: "C", participantIndex: 2 }, { participantId: "A", participantIndex: 0 }, { participantId: "B", participantIndex: 1 }]
    })
    t.run(cmd.start, 0)
    const order = [1, 2, 3, 4].map((i) => (t.run(cmd.switch(), i * 1_000), t.current.activeParticipantId))
    expect(order).toEqual(["B", "C", "A", "B"])
    t.run(cmd.switch("B"), 5_000)
    expect(t.current.activeParticipantId).toBe("B")
    expect(t.participant("B").cycleCount).toBe(2)
    t.run(cmd.switch("A"), 6_000)
    expect(t.current.activeParticipantId).toBe("A")
  })

  it("a switch to an unknown participant is refused with InvalidCommand on next_participant_id", () => {
    const t = new Table({ syncMode: "per_participant" })
    t.run(cmd.start, 0)
    const error = t.reject(cmd.switch("Z"), 1_000)
    expect(error).toMatchObject({ _tag: "InvalidCommand", issues: [{ field: "next_participant_id" }] })
  })

  it("a single participant's switch comes back to them and still earns the increment", () => {
    const t = new Table({ syncMode: "per_participant", participants: [{ participantId: "solo" }], incrementMs: 1_000 })
    t.run(cmd.start, 0)
    t.run(cmd.switch(), 4_000)
    expect(t.lastShort()).toEqual(["CYCLE_SWITCHED@4000:solo>solo+1000"])
    expect(t.remaining("solo", 4_000)).toBe(57_000)
    expect(t.participant("solo").cycleCount).toBe(1)
  })

  it("increment: earned only by a turn that ended with time left (the boundary is the deadline)", () => {
    const t = new Table({ syncMode: "per_participant", totalTimeMs: 10_000, incrementMs: 3_000, actionOnTimeout: "notify" })
    t.run(cmd.start, 0)
    // One millisecond before the deadline: 1 ms left, the increment applies.
    t.run(cmd.switch(), 9_999)
    expect(t.lastShort()).toEqual(["CYCLE_SWITCHED@9999:A>B+3000"])
    expect(t.remaining("A", 9_999)).toBe(3_001)
    // Exactly at B's deadline: the clock reached zero, so the switch finds a timeout and no increment.
    t.run(cmd.switch(), 19_999)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@19999:B[]", "CYCLE_SWITCHED@19999:B>A"])
    expect(t.remaining("B", 19_999)).toBe(0)
    expect(t.used("B", 19_999)).toBe(10_000)
  })

  it("nextParticipant skips participants with an empty bank and falls back to nobody", () => {
    const t = new Table({
      syncMode: "per_participant",
      totalTimeMs: 5_000,
      participants: [{ participantId: "A" }, { participantId: "B" }, { participantId: "C" }],
      actionOnTimeout: "notify"
    })
    t.run(cmd.start, 0)
    t.run(cmd.switch("B"), 6_000) // A ran out at 5 s (notify): A stays in but has no time
    expect(t.remaining("A", 6_000)).toBe(0)
    expect(nextParticipant(t.current, "B")?.participantId).toBe("C")
    expect(nextParticipant(t.current, "C")?.participantId).toBe("B")
    t.run(cmd.switch(), 7_000)
    expect(t.current.activeParticipantId).toBe("C")
    t.run(cmd.switch(), 20_000) // C ran out at 12 s
    expect(t.current.activeParticipantId).toBe("B")
    expect(t.deadline()).toBe(24_000)
    t.run(cmd.switch(), 30_000) // B ran out at 24 s: nobody has time left, the turn stays with B
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@24000:B[]", "CYCLE_SWITCHED@30000:B>B"])
    expect(nextParticipant(t.current, "B")).toBeUndefined()
    expect(t.deadline()).toBeNull()
    expect(t.current.status).toBe("running")
  })

  it("deadlines use epoch milliseconds", () => {
    const t = new Table({ syncMode: "per_participant", totalTimeMs: 45_000 })
    t.run(cmd.start, 250)
    expect(t.deadline()).toBe(45_250)
    expect(t.current.cycleStartedAt).toBe(at(250))
  })
})
