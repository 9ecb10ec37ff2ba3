/**
 * Turn enforcement: a participant switching for itself (a participant token) may end only its own
 * turn, as of the instant the switch is decided.
 */
import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  activeParticipant,
  type Command,
  decide,
  type SessionState,
  settleDue,
  SYNC_MODES,
  TIMEOUT_ACTIONS
} from "../../src/domain/index.ts"
import { at, cmd, ev, configOf, given, s, SID, Table } from "./decider.spec.ts"

const switchAs = (actingParticipantId: string, nextParticipantId?: string): Command =>
  ({ type: "SwitchCycle", nextParticipantId, actingParticipantId })

describe("turn enforcement", () => {
  const config = configOf({ syncMode: "per_participant" })
  const running = [ev.created(config, at(0)), ev.started(at(0))]

  it.each([
    ["the active participant", "A", undefined, "CYCLE_SWITCHED A>B"],
    ["the active participant naming the next", "A", "B", "CYCLE_SWITCHED A>B"],
    ["the waiting participant", "B", undefined, "NotYourTurn"],
    ["the waiting participant naming itself", "B", "B", "NotYourTurn"],
    ["someone not in the session", "Z", undefined, "NotYourTurn"]
  ])("%s: %s", (_name, acting, next, expected) => {
    const result = decide(given(running).state, switchAs(acting, next), SID, at(s(5)))
    const outcome = Result.isFailure(result)
      ? result.failure._tag
      : result.success.map((e) => e.type === "CYCLE_SWITCHED" ? `${e.type} ${e.fromParticipantId}>${e.toParticipantId}` : e.type).join(",")
    expect(outcome).toBe(expected)
  })

  it("names both participants in the refusal", () => {
    const error = given(running).when(switchAs("B"), at(s(5))).thenFails("NotYourTurn")
    expect([error.participantId, error.activeParticipantId]).toEqual(["B", "A"])
  })

  it("refuses the second of two switches by the same participant: the turn passes once", () => {
    const table = new Table({ syncMode: "per_participant" })
    table.run(cmd.start, 0)
    table.run(switchAs("A"), s(1))
    expect(table.reject(switchAs("A"), s(1))._tag).toBe("NotYourTurn")
    table.run(switchAs("B"), s(2))
  })

  it("judges the turn as of now: after a timeout passed the turn on, the old holder is refused", () => {
    const table = new Table({ syncMode: "per_cycle", timePerCycleMs: s(10), actionOnTimeout: "skip_cycle" })
    table.run(cmd.start, 0)
    expect(table.reject(switchAs("A"), s(11))._tag).toBe("NotYourTurn")
    // B's turn began at the timeout; its own switch is answered by that timeout, as any late switch is.
    expect(table.run(switchAs("B"), s(11)).map((e) => e.type)).toEqual(["TIME_EXPIRED", "CYCLE_SWITCHED"])
  })

  it("still refuses a switch on a session that is not running, as before", () => {
    const table = new Table({ syncMode: "per_participant" })
    expect(table.reject(switchAs("A"), 0)._tag).toBe("InvalidTransition")
  })
})

describe("turn enforcement, for any session and any instant", () => {
  const arb = fc.record({
    syncMode: fc.constantFrom(...SYNC_MODES),
    actionOnTimeout: fc.constantFrom(...TIMEOUT_ACTIONS),
    n: fc.integer({ min: 2, max: 4 }),
    steps: fc.array(fc.record({ dt: fc.integer({ min: 0, max: 90_000 }), actor: fc.integer({ min: 0, max: 4 }) }), { maxLength: 30 })
  })
  const ids = ["A", "B", "C", "D", "Z"]

  it("a participant's switch is decided exactly as an unnamed one when its turn is running, else refused", () => {
    fc.assert(fc.property(arb, ({ syncMode, actionOnTimeout, n, steps }) => {
      const table = new Table({
        syncMode,
        actionOnTimeout,
        participants: ids.slice(0, n).map((participantId, i) => ({ participantId, groupId: `g${i % 2}` })),
        ...(syncMode === "per_cycle" ? { timePerCycleMs: s(30) } : {})
      })
      table.run(cmd.start, 0)
      let t = 0
      for (const { dt, actor } of steps) {
        t += dt
        const state = table.state as SessionState
        if (state === null || state.status !== "running") return
        const acting = ids[actor]!
        const activeNow = activeParticipant(settleDue(state, at(t)).state)
        const asParticipant = decide(state, switchAs(acting), SID, at(t))
        const unnamed = decide(state, cmd.switch(), SID, at(t))
        if (activeNow !== undefined && activeNow.participantId !== acting) {
          expect(Result.isFailure(asParticipant) && asParticipant.failure._tag).toBe("NotYourTurn")
        } else {
          expect(asParticipant).toEqual(unnamed)
          if (Result.isSuccess(asParticipant)) table.run(switchAs(acting), t)
        }
      }
    }), { numRuns: 300 })
  })
})
