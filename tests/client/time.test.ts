/** Remaining time at display time, from the authoritative fields only, for every sync mode. */
import { describe, expect, it } from "vitest"
import { deadlineMs, elapsedAt, isRunning, remainingAt, timeUsedAt } from "../../client/src/index.ts"
import { A, B, participant, stateOf } from "./states.ts"

describe("remainingAt", () => {
  it("runs the active participant's own clock down in per_participant, and leaves the other alone", () => {
    const state = stateOf("per_participant")
    expect(remainingAt(state, 1_000)).toBe(60_000)
    expect(remainingAt(state, 11_000)).toBe(50_000)
    expect(remainingAt(state, 11_000, A)).toBe(50_000)
    expect(remainingAt(state, 11_000, B)).toBe(50_000)
    expect(remainingAt(state, 31_000, B)).toBe(50_000)
    expect(isRunning(state, A)).toBe(true)
    expect(isRunning(state, B)).toBe(false)
  })

  it("never goes below zero, nor above the bank when the local estimate is before the segment's start", () => {
    const state = stateOf("per_participant")
    expect(remainingAt(state, 61_000)).toBe(0)
    expect(remainingAt(state, 10_000_000)).toBe(0)
    expect(remainingAt(state, 0)).toBe(60_000)
  })

  it("holds every clock still while paused, pending or ended", () => {
    for (const status of ["paused", "pending", "expired", "completed", "cancelled"] as const) {
      const state = stateOf("per_participant", { status })
      expect(remainingAt(state, 30_000, A)).toBe(60_000)
    }
  })

  it("runs one clock for everyone in global, and for the active group in per_group", () => {
    const global = stateOf("global", {}, [participant(A, 0, 600_000), participant(B, 1, 600_000)])
    expect(remainingAt(global, 101_000, A)).toBe(500_000)
    expect(remainingAt(global, 101_000, B)).toBe(500_000)
    expect(remainingAt(global, 101_000)).toBe(500_000)

    const C = "00000000-0000-4000-8000-00000000000c"
    const red = "00000000-0000-4000-8000-0000000000e1"
    const blue = "00000000-0000-4000-8000-0000000000e2"
    const groups = stateOf("per_group", {}, [
      participant(A, 0, 300_000, { group_id: red }),
      participant(B, 1, 280_000, { group_id: blue }),
      participant(C, 2, 300_000, { group_id: red })
    ])
    expect(remainingAt(groups, 31_000, C)).toBe(270_000)
    expect(remainingAt(groups, 31_000, B)).toBe(280_000)
  })

  it("answers 0 for a participant the session does not have, and uses the first when nobody is active", () => {
    expect(remainingAt(stateOf("per_participant"), 1_000, "nobody")).toBe(0)
    expect(remainingAt(stateOf("global", { status: "pending", active_participant_id: null, cycle_started_at: null }), 5_000)).toBe(60_000)
  })
})

describe("timeUsedAt, elapsedAt and deadlineMs", () => {
  it("adds the running segment to the time used before it", () => {
    const state = stateOf("per_participant")
    expect(timeUsedAt(state, 11_000, A)).toBe(15_000)
    expect(timeUsedAt(state, 11_000, B)).toBe(0)
    expect(timeUsedAt(state, 500_000, A)).toBe(65_000)
  })

  it("counts up in count_up as the cap minus the hidden bank", () => {
    const state = stateOf("count_up", { max_time_ms: 3_600_000 }, [participant(A, 0, 3_590_000)])
    expect(elapsedAt(state, 21_000)).toBe(30_000)
    expect(elapsedAt(state, 99_000_000)).toBe(3_600_000)
  })

  it("puts the deadline at the segment's start plus the active clock, and none when nothing runs", () => {
    expect(deadlineMs(stateOf("per_participant"))).toBe(61_000)
    expect(deadlineMs(stateOf("per_participant", { status: "paused" }))).toBeNull()
  })
})
