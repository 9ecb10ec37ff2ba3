/** What the server does on its own at a deadline: SettleDue, warnings, and the next due instant. */
import { describe, expect, it } from "vitest"
import { dueAtOf } from "../../src/domain/index.ts"
import { at, cmd, configOf, ev, given, s } from "./decider.spec.ts"

const chess = configOf({ syncMode: "per_participant", totalTimeMs: s(60), incrementMs: s(5), timeoutWarningsMs: [s(10), s(30)] })
const started = [ev.created(chess, at(0)), ev.started(at(0))]

describe("SettleDue", () => {
  it("does nothing before anything is due", () => {
    given(started).when(cmd.settle, at(s(29))).then([])
  })

  it("emits each warning at the instant the threshold was crossed, longest first, once per turn", () => {
    const afterFirst = given(started).when(cmd.settle, at(s(31))).then([ev.warned(at(s(30)), "A", s(30))])
    expect(afterFirst?.warnedMs).toEqual([s(30)])
    given(started, ev.warned(at(s(30)), "A", s(30))).when(cmd.settle, at(s(45))).then([])
    given(started, ev.warned(at(s(30)), "A", s(30))).when(cmd.settle, at(s(50))).then([ev.warned(at(s(50)), "A", s(10))])
  })

  it("catches up on everything due, in time order, ending with the timeout", () => {
    given(started).when(cmd.settle, at(s(70))).then([
      ev.warned(at(s(30)), "A", s(30)),
      ev.warned(at(s(50)), "A", s(10)),
      ev.timeExpired(at(s(60)), "A", ["A"]),
      ev.expired(at(s(60)))
    ])
  })

  it("warns again in a new turn whose clock crosses the threshold again, not in one that starts below it", () => {
    // A used 35 s and earned 5 s: 30 s left, so its next turn starts at the 30 s threshold and cannot cross it.
    const history = [...started, ev.warned(at(s(30)), "A", s(30)), ev.switched(at(s(35)), "A", "B", s(5)), ev.switched(at(s(36)), "B", "A", s(5))]
    const state = given(history).state
    expect(state?.warnedMs).toEqual([])
    expect(dueAtOf(state!)).toBe(at(s(36 + 20)))
    given(history).when(cmd.settle, at(s(57))).then([ev.warned(at(s(56)), "A", s(10))])
  })

  it("keeps the warned thresholds across a pause and resume of the same turn", () => {
    const history = [...started, ev.warned(at(s(30)), "A", s(30)), ev.paused(at(s(40))), ev.resumed(at(s(100)))]
    expect(dueAtOf(given(history).state!)).toBe(at(s(110)))
    given(history).when(cmd.settle, at(s(111))).then([ev.warned(at(s(110)), "A", s(10))])
  })

  it("has nothing to do on a paused or ended session, and fails on a missing one", () => {
    given(started, ev.paused(at(s(1)))).when(cmd.settle, at(s(500))).then([])
    given(started, ev.completed(at(s(1)))).when(cmd.settle, at(s(500))).then([])
    given().when(cmd.settle, at(0)).thenFails("SessionNotFound")
  })
})

describe("dueAtOf", () => {
  it("is the next warning, else the expiry, else nothing", () => {
    expect(dueAtOf(given(started).state!)).toBe(at(s(30)))
    expect(dueAtOf(given(started, ev.warned(at(s(30)), "A", s(30)), ev.warned(at(s(50)), "A", s(10))).state!)).toBe(at(s(60)))
    expect(dueAtOf(given(started, ev.paused(at(s(1)))).state!)).toBeNull()
  })
})
