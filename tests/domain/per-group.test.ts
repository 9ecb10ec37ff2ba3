import { describe, expect, it } from "vitest"
import { bankOf } from "../../src/domain/index.ts"
import { cmd, Table } from "./decider.spec.ts"

/** Turn order R1, B1, R2, B2: the teams alternate. */
const teams = [
  { participantId: "R1", groupId: "red" },
  { participantId: "B1", groupId: "blue" },
  { participantId: "R2", groupId: "red" },
  { participantId: "B2", groupId: "blue" }
]

/** per_group: each group's bank starts at the session total_time_ms and its members share it. */
describe("per_group", () => {
  it("5 min per team, skip_cycle: table", () => {
    const t = new Table({ syncMode: "per_group", totalTimeMs: 300_000, participants: teams, actionOnTimeout: "skip_cycle" })
    const left = (time: number) => ["R1", "R2", "B1", "B2"].map((id) => t.remaining(id, time))

    t.run(cmd.start, 0)
    expect([left(0), t.deadline()]).toEqual([[300_000, 300_000, 300_000, 300_000], 300_000])
    // R2 waits, but the red bank R1 is spending is also R2's.
    expect([left(30_000), t.used("R1", 30_000), t.used("R2", 30_000)]).toEqual([[270_000, 270_000, 300_000, 300_000], 30_000, 0])

    t.run(cmd.switch(), 40_000)
    expect([t.current.activeParticipantId, left(40_000), t.deadline()]).toEqual(["B1", [260_000, 260_000, 300_000, 300_000], 340_000])
    t.run(cmd.switch(), 100_000)
    expect([t.current.activeParticipantId, left(100_000), t.deadline()]).toEqual(["R2", [260_000, 260_000, 240_000, 240_000], 360_000])
    t.run(cmd.switch(), 160_000)
    expect([t.current.activeParticipantId, left(160_000), t.deadline()]).toEqual(["B2", [200_000, 200_000, 240_000, 240_000], 400_000])

    // Blue runs out at 400 s: the whole team is eliminated and the turn passes to red.
    t.run(cmd.switch(), 420_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@400000:B2[B1,B2]", "CYCLE_SWITCHED@400000:B2>R1"])
    expect([t.current.activeParticipantId, left(420_000), t.deadline()]).toEqual(["R1", [180_000, 180_000, 0, 0], 600_000])
    expect([t.participant("B1").hasExpired, t.participant("B2").hasExpired, t.participant("R1").hasExpired]).toEqual([true, true, false])

    // Expired B1 is skipped; a switch to B2 is refused.
    t.run(cmd.switch(), 450_000)
    expect([t.current.activeParticipantId, left(450_000), t.deadline()]).toEqual(["R2", [150_000, 150_000, 0, 0], 600_000])
    expect(t.reject(cmd.switch("B2"), 451_000)).toMatchObject({ _tag: "InvalidCommand" })
    // Conservation: the red bank plus what red's members used is the starting bank.
    expect(t.used("R1", 450_000) + t.used("R2", 450_000) + t.remaining("R1", 450_000)).toBe(300_000)
    expect([t.used("R1", 450_000), t.used("R2", 450_000)]).toEqual([90_000, 60_000])

    // Red runs out at 600 s: nobody is left.
    t.run(cmd.switch(), 700_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@600000:R2[R1,R2]", "SESSION_EXPIRED@600000"])
    expect(t.current.status).toBe("expired")
  })

  it("increment goes to the group bank, also for a switch inside the team", () => {
    const t = new Table({ syncMode: "per_group", totalTimeMs: 300_000, incrementMs: 5_000, participants: teams })
    t.run(cmd.start, 0)
    t.run(cmd.switch("R2"), 10_000)
    expect(t.lastShort()).toEqual(["CYCLE_SWITCHED@10000:R1>R2+5000"])
    expect([t.remaining("R1", 10_000), t.remaining("R2", 10_000), t.deadline()]).toEqual([295_000, 295_000, 305_000])
    t.run(cmd.switch(), 20_000)
    expect(t.current.activeParticipantId).toBe("B2")
    expect([t.remaining("R1", 20_000), t.remaining("B1", 20_000), t.deadline()]).toEqual([290_000, 300_000, 320_000])
    expect([t.participant("R1").cycleCount, t.participant("R2").cycleCount]).toEqual([1, 1])
  })

  it("end_session (default): the group's timeout eliminates its members and ends the session", () => {
    const t = new Table({ syncMode: "per_group", totalTimeMs: 60_000, participants: teams })
    t.run(cmd.start, 0)
    t.run(cmd.switch(), 10_000)
    t.run(cmd.switch(), 400_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@70000:B1[B1,B2]", "SESSION_EXPIRED@70000"])
    expect(t.current.participants.filter((p) => p.hasExpired).map((p) => p.participantId)).toEqual(["B1", "B2"])
  })

  it("groups of different sizes all start from total_time_ms; a participant's own total_time_ms is ignored", () => {
    const t = new Table({
      syncMode: "per_group",
      totalTimeMs: 90_000,
      participants: [
        { participantId: "a", groupId: "solo", totalTimeMs: 10_000 },
        { participantId: "b", groupId: "trio" },
        { participantId: "c", groupId: "trio" },
        { participantId: "d", groupId: "trio" }
      ]
    })
    expect(t.current.banks).toEqual({ "group:solo": 90_000, "group:trio": 90_000 })
    expect(t.current.participants.map((p) => bankOf(t.current, p))).toEqual([90_000, 90_000, 90_000, 90_000])
  })

  it("notify: a team at zero keeps its members but the turn skips them", () => {
    const t = new Table({ syncMode: "per_group", totalTimeMs: 10_000, participants: teams, actionOnTimeout: "notify" })
    t.run(cmd.start, 0)
    t.run(cmd.switch(), 15_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@10000:R1[]", "CYCLE_SWITCHED@15000:R1>B1"])
    t.run(cmd.switch(), 16_000)
    // R2 is next in order, but red has no time left.
    expect(t.current.activeParticipantId).toBe("B2")
    expect(t.current.participants.some((p) => p.hasExpired)).toBe(false)
  })
})
