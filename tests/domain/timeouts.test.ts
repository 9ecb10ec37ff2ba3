import { describe, expect, it } from "vitest"
import { type CreateSessionInput, settleDue, type SyncMode, type TimeoutAction } from "../../src/domain/index.ts"
import { at, cmd, short, Table } from "./decider.spec.ts"

/** Two participants in two groups, every clock 10 s: A's clock reaches zero at 10 s. */
const tenSeconds = (syncMode: SyncMode, actionOnTimeout: TimeoutAction): Partial<CreateSessionInput> & Pick<CreateSessionInput, "syncMode"> => ({
  syncMode,
  actionOnTimeout,
  totalTimeMs: 10_000,
  participants: [{ participantId: "A", groupId: "g1" }, { participantId: "B", groupId: "g2" }].map((p) =>
    syncMode === "per_group" ? p : { participantId: p.participantId }
  ),
  ...(syncMode === "per_cycle" ? { timePerCycleMs: 10_000 } : {}),
  ...(syncMode === "count_up" ? { maxTimeMs: 10_000 } : {})
})

describe("timeouts", () => {
  // A switch at 15 s finds A's clock at zero since 10 s.
  it.each<[SyncMode, TimeoutAction, Array<string>, string]>([
    ["per_participant", "end_session", ["TIME_EXPIRED@10000:A[A]", "SESSION_EXPIRED@10000"], "expired"],
    ["per_participant", "skip_cycle", ["TIME_EXPIRED@10000:A[A]", "CYCLE_SWITCHED@10000:A>B"], "running"],
    ["per_participant", "notify", ["TIME_EXPIRED@10000:A[]", "CYCLE_SWITCHED@15000:A>B"], "running"],
    ["per_cycle", "end_session", ["TIME_EXPIRED@10000:A[A]", "SESSION_EXPIRED@10000"], "expired"],
    ["per_cycle", "skip_cycle", ["TIME_EXPIRED@10000:A[A]", "CYCLE_SWITCHED@10000:A>B"], "running"],
    ["per_cycle", "notify", ["TIME_EXPIRED@10000:A[]", "CYCLE_SWITCHED@15000:A>B"], "running"],
    ["per_group", "end_session", ["TIME_EXPIRED@10000:A[A]", "SESSION_EXPIRED@10000"], "expired"],
    ["per_group", "skip_cycle", ["TIME_EXPIRED@10000:A[A]", "CYCLE_SWITCHED@10000:A>B"], "running"],
    ["per_group", "notify", ["TIME_EXPIRED@10000:A[]", "CYCLE_SWITCHED@15000:A>B"], "running"],
    ["global", "end_session", ["TIME_EXPIRED@10000:A[A]", "SESSION_EXPIRED@10000"], "expired"],
    ["global", "skip_cycle", ["TIME_EXPIRED@10000:A[A]", "SESSION_EXPIRED@10000"], "expired"],
    // SURPRISING (reported): on a shared clock at zero nobody "still has time", so a switch without a
    // target keeps the turn with the active participant; only an explicit target passes it.
    ["global", "notify", ["TIME_EXPIRED@10000:A[]", "CYCLE_SWITCHED@15000:A>A"], "running"],
    ["count_up", "end_session", ["TIME_EXPIRED@10000:A[A]", "SESSION_EXPIRED@10000"], "expired"],
    ["count_up", "skip_cycle", ["TIME_EXPIRED@10000:A[A]", "SESSION_EXPIRED@10000"], "expired"],
    ["count_up", "notify", ["TIME_EXPIRED@10000:A[]", "CYCLE_SWITCHED@15000:A>A"], "running"]
  ])("%s with %s: a switch at 15 s gives %j", (syncMode, action, events, status) => {
    const t = new Table(tenSeconds(syncMode, action))
    t.run(cmd.start, 0)
    expect(t.deadline()).toBe(10_000)
    t.run(cmd.switch(), 15_000)
    expect(t.lastShort()).toEqual(events)
    expect(t.current.status).toBe(status)
    // A's clock is at zero and A used exactly its 10 s, not the 15 s until the switch.
    expect([t.remaining("A", 15_000), t.used("A", 15_000)]).toEqual([syncMode === "per_cycle" && action === "notify" ? 10_000 : 0, 10_000])
  })

  it("settleDue does nothing before the deadline and fires at exactly the deadline", () => {
    const t = new Table({ syncMode: "per_participant", totalTimeMs: 10_000 })
    t.run(cmd.start, 0)
    expect(settleDue(t.current, at(9_999)).events).toEqual([])
    expect(settleDue(t.current, at(9_999)).state).toBe(t.current)
    const settled = settleDue(t.current, at(10_000))
    expect(settled.events.map(short)).toEqual(["TIME_EXPIRED@10000:A[A]", "SESSION_EXPIRED@10000"])
    expect(settled.state).toMatchObject({ status: "expired", version: t.current.version + 2, updatedAt: at(10_000) })
  })

  it("settleDue leaves paused, pending and ended sessions alone", () => {
    const t = new Table({ syncMode: "per_participant", totalTimeMs: 10_000 })
    expect(settleDue(t.current, at(99_000)).events).toEqual([])
    t.run(cmd.start, 0)
    t.run(cmd.pause, 5_000)
    expect(settleDue(t.current, at(99_000)).events).toEqual([])
    t.run(cmd.resume, 100_000)
    expect(t.deadline()).toBe(105_000)
    t.run(cmd.complete, 101_000)
    expect(settleDue(t.current, at(999_000)).events).toEqual([])
  })

  it("several timeouts due at once apply in order, each at its own deadline", () => {
    const t = new Table({
      syncMode: "per_participant",
      totalTimeMs: 10_000,
      actionOnTimeout: "skip_cycle",
      participants: [{ participantId: "A" }, { participantId: "B", totalTimeMs: 3_000 }, { participantId: "C", totalTimeMs: 20_000 }]
    })
    t.run(cmd.start, 0)
    t.run(cmd.switch(), 40_000)
    expect(t.lastShort()).toEqual([
      "TIME_EXPIRED@10000:A[A]",
      "CYCLE_SWITCHED@10000:A>B",
      "TIME_EXPIRED@13000:B[B]",
      "CYCLE_SWITCHED@13000:B>C",
      "TIME_EXPIRED@33000:C[C]",
      "SESSION_EXPIRED@33000"
    ])
    expect(["A", "B", "C"].map((id) => t.used(id, 40_000))).toEqual([10_000, 3_000, 20_000])
  })

  it("pause, complete and cancel after a skip_cycle timeout apply to the new turn", () => {
    for (const [command, last] of [[cmd.pause, "SESSION_PAUSED@15000"], [cmd.complete, "SESSION_COMPLETED@15000"], [cmd.cancel, "SESSION_CANCELLED@15000"]] as const) {
      const t = new Table(tenSeconds("per_participant", "skip_cycle"))
      t.run(cmd.start, 0)
      t.run(command, 15_000)
      expect(t.lastShort()).toEqual(["TIME_EXPIRED@10000:A[A]", "CYCLE_SWITCHED@10000:A>B", last])
      expect([t.used("B", 15_000), t.remaining("B", 15_000)]).toEqual([5_000, 5_000])
    }
  })

  it.each([["pause", cmd.pause], ["complete", cmd.complete], ["cancel", cmd.cancel]] as const)(
    "%s after an end_session timeout is refused: the session is already expired",
    (verb, command) => {
      const t = new Table(tenSeconds("per_participant", "end_session"))
      t.run(cmd.start, 0)
      const error = t.reject(command, 15_000)
      expect(error).toMatchObject({ _tag: "InvalidTransition", command: verb, status: "expired" })
      expect(error.message).toBe(`cannot ${verb} a session that is expired`)
    }
  )

  it("a late switch with an explicit target is answered by the timeout that already passed the turn", () => {
    const t = new Table({ ...tenSeconds("per_participant", "skip_cycle"), participants: [{ participantId: "A" }, { participantId: "B" }, { participantId: "C" }] })
    t.run(cmd.start, 0)
    t.run(cmd.switch("C"), 15_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@10000:A[A]", "CYCLE_SWITCHED@10000:A>B"])
    expect(t.current.activeParticipantId).toBe("B")
  })

  it("a participant eliminated by skip_cycle cannot be switched to afterwards", () => {
    const t = new Table({ ...tenSeconds("per_participant", "skip_cycle"), participants: [{ participantId: "A" }, { participantId: "B" }, { participantId: "C" }] })
    t.run(cmd.start, 0)
    // The late switch to A is absorbed by the timeout that eliminated A.
    t.run(cmd.switch("A"), 15_000)
    expect(t.lastShort()).toEqual(["TIME_EXPIRED@10000:A[A]", "CYCLE_SWITCHED@10000:A>B"])
    expect(t.reject(cmd.switch("A"), 16_000)).toMatchObject({
      _tag: "InvalidCommand",
      issues: [{ field: "next_participant_id", message: "has expired and cannot take a turn" }]
    })
    t.run(cmd.switch(), 16_000)
    expect(t.current.activeParticipantId).toBe("C")
    t.run(cmd.switch(), 17_000)
    expect(t.current.activeParticipantId).toBe("B")
  })
})
