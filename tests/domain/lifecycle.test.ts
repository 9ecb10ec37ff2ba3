import { describe, expect, it } from "vitest"
import type { Command, SessionEvent, Status } from "../../src/domain/index.ts"
import { at, cmd, configOf, ev, given, s, SID } from "./decider.spec.ts"

const config = configOf({ syncMode: "per_participant" })
const created = ev.created(config, at(0))

/** The shortest history that leaves the session in each status. */
const histories: Record<Status, ReadonlyArray<SessionEvent>> = {
  pending: [created],
  running: [created, ev.started(at(s(1)))],
  paused: [created, ev.started(at(s(1))), ev.paused(at(s(2)))],
  completed: [created, ev.started(at(s(1))), ev.completed(at(s(2)))],
  cancelled: [created, ev.started(at(s(1))), ev.cancelled(at(s(2)))],
  expired: [created, ev.started(at(s(1))), ev.timeExpired(at(s(61)), "A", ["A"]), ev.expired(at(s(61)))]
}

/** Commands other than create and delete, with the statuses each accepts. */
const transitions: ReadonlyArray<[string, Command, ReadonlyArray<Status>]> = [
  ["start", cmd.start, ["pending"]],
  ["switch", cmd.switch(), ["running"]],
  ["pause", cmd.pause, ["running"]],
  ["resume", cmd.resume, ["paused"]],
  ["complete", cmd.complete, ["pending", "running", "paused"]],
  ["cancel", cmd.cancel, ["pending", "running", "paused"]]
]

describe("lifecycle", () => {
  it("create records the validated configuration at now", () => {
    given().when(cmd.create({ syncMode: "per_participant" }), at(0)).then([created])
  })

  it("a new session is pending, version 1, with full banks and nothing running", () => {
    const state = given().when(cmd.create({ syncMode: "per_participant" }), at(0)).then([created])
    expect(state).toMatchObject({
      status: "pending",
      version: 1,
      activeParticipantId: null,
      cycleStartedAt: null,
      sessionStartedAt: null,
      sessionCompletedAt: null,
      createdAt: at(0),
      updatedAt: at(0),
      banks: { "participant:A": 60_000, "participant:B": 60_000 }
    })
  })

  it("start hands the turn to the lowest participant_index", () => {
    const input = {
      syncMode: "per_participant" as const,
      participants: [{ participantId: "B", participantIndex: 1 }, { participantId: "A", participantIndex: 0 }]
    }
    const c = configOf(input)
    expect(c.participants.map((p) => p.participantId)).toEqual(["A", "B"])
    const state = given(ev.created(c, at(0))).when(cmd.start, at(s(5))).then([ev.started(at(s(5)), "A")])
    expect(state).toMatchObject({ status: "running", version: 2, activeParticipantId: "A", cycleStartedAt: at(s(5)), sessionStartedAt: at(s(5)) })
  })

  it("switch, pause, resume, complete in order", () => {
    let state = given(histories.running).when(cmd.switch(), at(s(11))).then([ev.switched(at(s(11)), "A", "B")])
    expect(state).toMatchObject({ status: "running", activeParticipantId: "B", cycleStartedAt: at(s(11)), version: 3 })
    state = given(histories.running, ev.switched(at(s(11)), "A", "B")).when(cmd.pause, at(s(20))).then([ev.paused(at(s(20)))])
    expect(state).toMatchObject({ status: "paused", activeParticipantId: "B", cycleStartedAt: null, version: 4 })
    const history = [...histories.running, ev.switched(at(s(11)), "A", "B"), ev.paused(at(s(20)))]
    state = given(history).when(cmd.resume, at(s(30))).then([ev.resumed(at(s(30)))])
    expect(state).toMatchObject({ status: "running", activeParticipantId: "B", cycleStartedAt: at(s(30)), version: 5 })
    state = given(history, ev.resumed(at(s(30)))).when(cmd.complete, at(s(31))).then([ev.completed(at(s(31)))])
    expect(state).toMatchObject({
      status: "completed",
      activeParticipantId: null,
      cycleStartedAt: null,
      sessionCompletedAt: at(s(31)),
      version: 6
    })
  })

  it("complete and cancel charge the running segment", () => {
    const done = given(histories.running).when(cmd.complete, at(s(8))).then([ev.completed(at(s(8)))])
    expect(done?.banks["participant:A"]).toBe(53_000)
    expect(done?.participants[0]?.timeUsedMs).toBe(7_000)
    const gone = given(histories.running).when(cmd.cancel, at(s(8))).then([ev.cancelled(at(s(8)))])
    expect(gone).toMatchObject({ status: "cancelled", sessionCompletedAt: at(s(8)) })
    expect(gone?.banks["participant:A"]).toBe(53_000)
  })

  describe.each(transitions)("%s", (_name, command, allowed) => {
    const refused = (Object.keys(histories) as Array<Status>).filter((status) => !allowed.includes(status))
    it.each(refused)("is refused with InvalidTransition when %s", (status) => {
      const error = given(histories[status]).when(command, at(s(30))).thenFails("InvalidTransition")
      expect(error).toMatchObject({ sessionId: SID, status })
    })
    it.each(allowed)("is accepted when %s", (status) => {
      const events = given(histories[status]).when(command, at(s(30))).thenAccepted()
      expect(events.at(-1)?.at).toBeGreaterThanOrEqual(at(s(30)))
    })
  })

  it.each(Object.keys(histories) as Array<Status>)("delete is accepted when %s and leaves no session", (status) => {
    const state = given(histories[status]).when(cmd.delete, at(s(100))).then([ev.deleted(at(s(100)))])
    expect(state).toBeNull()
  })

  it("delete does not settle an overdue timeout first", () => {
    given(histories.running).when(cmd.delete, at(s(500))).then([ev.deleted(at(s(500)))])
  })

  it.each(transitions.map(([name, command]) => [name, command] as const))("%s without a session fails with SessionNotFound", (_n, command) => {
    const error = given().when(command, at(0)).thenFails("SessionNotFound")
    expect(error.sessionId).toBe(SID)
  })

  it("delete without a session fails with SessionNotFound", () => {
    given().when(cmd.delete, at(0)).thenFails("SessionNotFound")
    given(created, ev.deleted(at(1))).when(cmd.delete, at(2)).thenFails("SessionNotFound")
  })

  it("create on an existing session fails with SessionAlreadyExists, whatever its status", () => {
    for (const history of Object.values(histories)) {
      given(history).when(cmd.create({ syncMode: "global" }), at(s(100))).thenFails("SessionAlreadyExists")
    }
  })

  it("a deleted session id can be created again, starting over at version 1", () => {
    const state = given(created, ev.deleted(at(1))).when(cmd.create({ syncMode: "per_participant" }), at(2)).then([ev.created(config, at(2))])
    expect(state?.version).toBe(1)
  })

  it("the error message names the command and the status", () => {
    const error = given(histories.completed).when(cmd.pause, at(s(30))).thenFails("InvalidTransition")
    expect(error.message).toBe("cannot pause a session that is completed")
    expect(error.command).toBe("pause")
  })

  describe("time never runs backwards", () => {
    it("a command with an earlier now is stamped at the last event's time", () => {
      const history = [...histories.running, ev.switched(at(s(11)), "A", "B")]
      given(history).when(cmd.pause, at(s(3))).then([ev.paused(at(s(11)))])
      given(history).when(cmd.switch(), at(0)).then([ev.switched(at(s(11)), "B", "A", 0)])
    })

    it("start before the creation time starts at the creation time", () => {
      given(created).when(cmd.start, at(-5_000)).then([ev.started(at(0))])
    })
  })
})
