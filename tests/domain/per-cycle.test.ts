import { describe, expect, it } from "vitest"
import { expiresAtOf, type TimeoutAction } from "../../src/domain/index.ts"
import { at, cmd, Table } from "./decider.spec.ts"

const three = [{ participantId: "A" }, { participantId: "B" }, { participantId: "C" }]

/** per_cycle: every turn gets a fresh time_per_cycle_ms; default action skip_cycle eliminates. */
describe("per_cycle", () => {
  it("30 s turns, skip_cycle (default): table", () => {
    const t = new Table({ syncMode: "per_cycle", timePerCycleMs: 30_000, totalTimeMs: 600_000, participants: three })
    expect(t.current.config.actionOnTimeout).toBe("skip_cycle")
    const left = (time: number) => ["A", "B", "C"].map((id) => t.remaining(id, time))

    t.run(cmd.start, 0)
    expect([left(0), t.deadline()]).toEqual([[30_000, 30_000, 30_000], 30_000])

    t.run(cmd.switch(), 12_000)
    expect(t.view("A", 12_000)).toEqual({ remaining: 30_000, used: 12_000, cycles: 1, expired: false })
    expect([left(12_000), t.deadline()]).toEqual([[30_000, 30_000, 30_000], 42_000])
    expect([left(20_000), t.used("B", 20_000)]).toEqual([[30_000, 22_000, 30_000], 8_000])

    // A pause keeps what is left of the turn; it does not refill it.
    t.run(cmd.pause, 20_000)
    expect([left(25_000), t.deadline()]).toEqual([[30_000, 22_000, 30_000], null])
    t.run(cmd.resume, 25_000)
    expect(t.deadline()).toBe(47_000)

    // B's turn ran out at 47 s; the switch at 50 s finds the timeout and does not pass the turn again.
    t.run(cmd.switch(), 50_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@47000:B[B]", "CYCLE_SWITCHED@47000:B>C"])
    expect(t.view("B", 50_000)).toEqual({ remaining: 0, used: 30_000, cycles: 1, expired: true })
    expect([left(50_000), t.deadline()]).toEqual([[30_000, 0, 27_000], 77_000])

    // Expired B is skipped when the turn passes.
    t.run(cmd.switch(), 60_000)
    expect([t.current.activeParticipantId, t.deadline()]).toEqual(["A", 90_000])
    t.run(cmd.switch(), 61_000)
    expect([t.current.activeParticipantId, t.deadline()]).toEqual(["C", 91_000])

    // ...and cannot be chosen explicitly.
    const refused = t.reject(cmd.switch("B"), 62_000)
    expect(refused).toMatchObject({ _tag: "InvalidCommand", issues: [{ field: "next_participant_id", message: "has expired and cannot take a turn" }] })

    // C runs out at 91 s (turn to A), A at 121 s: nobody is left and the session expires at 121 s.
    t.run(cmd.switch(), 200_000)
    expect(t.lastShort()).toEqual([
      "TIME_EXPIRED@91000:C[C]",
      "CYCLE_SWITCHED@91000:C>A",
      "TIME_EXPIRED@121000:A[A]",
      "SESSION_EXPIRED@121000"
    ])
    expect(t.current).toMatchObject({ status: "expired", sessionCompletedAt: at(121_000), activeParticipantId: null })
    expect(["A", "B", "C"].map((id) => t.view(id, 200_000))).toEqual([
      { remaining: 0, used: 12_000 + 1_000 + 30_000, cycles: 2, expired: true },
      { remaining: 0, used: 30_000, cycles: 1, expired: true },
      { remaining: 0, used: 13_000 + 30_000, cycles: 2, expired: true }
    ])
  })

  it.each<TimeoutAction>(["skip_cycle", "end_session", "notify"])(
    "auto_advance with %s passes the turn at each deadline and eliminates no one",
    (actionOnTimeout) => {
      const t = new Table({
        syncMode: "per_cycle",
        timePerCycleMs: 30_000,
        participants: three,
        autoAdvance: true,
        actionOnTimeout
      })
      t.run(cmd.start, 0)
      t.run(cmd.pause, 100_000)
      expect(t.lastShort()).toEqual([
        "TIME_EXPIRED@30000:A[]",
        "CYCLE_SWITCHED@30000:A>B",
        "TIME_EXPIRED@60000:B[]",
        "CYCLE_SWITCHED@60000:B>C",
        "TIME_EXPIRED@90000:C[]",
        "CYCLE_SWITCHED@90000:C>A",
        "SESSION_PAUSED@100000"
      ])
      expect(["A", "B", "C"].map((id) => t.view(id, 100_000))).toEqual([
        { remaining: 20_000, used: 40_000, cycles: 1, expired: false },
        { remaining: 30_000, used: 30_000, cycles: 1, expired: false },
        { remaining: 30_000, used: 30_000, cycles: 1, expired: false }
      ])
      t.run(cmd.resume, 110_000)
      expect(t.deadline()).toBe(130_000)
    }
  )

  it("end_session: the first timeout eliminates the participant and ends the session", () => {
    const t = new Table({ syncMode: "per_cycle", timePerCycleMs: 5_000, participants: three, actionOnTimeout: "end_session" })
    t.run(cmd.start, 0)
    t.run(cmd.switch(), 4_000)
    t.run(cmd.switch(), 10_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@9000:B[B]", "SESSION_EXPIRED@9000"])
    expect(t.current.status).toBe("expired")
  })

  it("notify: the turn stays at zero until someone switches; the next turn is fresh", () => {
    const t = new Table({ syncMode: "per_cycle", timePerCycleMs: 5_000, participants: three, actionOnTimeout: "notify" })
    t.run(cmd.start, 0)
    t.run(cmd.pause, 8_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@5000:A[]", "SESSION_PAUSED@8000"])
    expect(t.view("A", 8_000)).toEqual({ remaining: 0, used: 5_000, cycles: 0, expired: false })
    t.run(cmd.resume, 9_000)
    expect(t.deadline()).toBeNull()
    t.run(cmd.switch(), 20_000)
    expect(t.lastShort()).toEqual(["CYCLE_SWITCHED@20000:A>B"])
    expect([t.remaining("B", 21_000), t.deadline(), t.used("A", 21_000)]).toEqual([4_000, 25_000, 5_000])
  })

  it("a single participant who times out under skip_cycle ends the session", () => {
    const t = new Table({ syncMode: "per_cycle", timePerCycleMs: 2_000, participants: [{ participantId: "A" }] })
    t.run(cmd.start, 0)
    t.run(cmd.switch(), 1_000)
    expect(t.lastShort()).toEqual(["CYCLE_SWITCHED@1000:A>A"])
    expect(t.deadline()).toBe(3_000)
    t.run(cmd.switch(), 3_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@3000:A[A]", "SESSION_EXPIRED@3000"])
  })

  it("catching up a long-unattended auto_advance session is bounded; the next command continues", () => {
    const t = new Table({ syncMode: "per_cycle", timePerCycleMs: 1_000, autoAdvance: true })
    t.run(cmd.start, 0)
    const first = t.run(cmd.switch(), 25_000_000)
    // 10 000 timeouts, each a TIME_EXPIRED and a CYCLE_SWITCHED; the switch itself is absorbed.
    expect(first.length).toBe(20_000)
    expect(first.at(-1)?.at).toBe(at(10_000_000))
    expect(expiresAtOf(t.current)).toBe(at(10_001_000))
    const second = t.run(cmd.switch(), 25_000_000)
    expect(second.length).toBe(20_000)
    expect(second.at(-1)?.at).toBe(at(20_000_000))
  })
})
