import { describe, expect, it } from "vitest"
import type { Outcome } from "../../src/app/CommandHandler.ts"
import { switchView } from "../../src/app/http/views.ts"
import { decodeOutcome, encodeOutcome } from "../../src/app/outcomeCodec.ts"
import { encodeState } from "../../src/app/sessionCodec.ts"
import { cmd, Table } from "../domain/decider.spec.ts"

/** Encoded as the commit does: the state as the snapshot has it. */
const encode = (outcome: Outcome) => encodeOutcome(outcome, outcome.state === null ? "" : encodeState(outcome.state))

/** A's 10 s run out before the switch at 15 s: the switch expires A and passes the turn to B. */
const expiringSwitch = (): Outcome => {
  const table = new Table({
    syncMode: "per_participant",
    actionOnTimeout: "skip_cycle",
    totalTimeMs: 10_000,
    participants: [{ participantId: "A" }, { participantId: "B" }],
    metadata: { room: "blue", seats: [1, 2] }
  })
  table.run(cmd.start, 0)
  const events = table.run(cmd.switch(), 15_000)
  return { state: table.current, events, version: table.current.version, lastEventId: "", serverTimeMs: 15_003, replayed: false }
}

describe("the outcome kept with an idempotency key", () => {
  it("decodes to the outcome it was encoded from, with the commit's event id, as a replay", () => {
    const outcome = expiringSwitch()
    expect(outcome.events.map((e) => e.type)).toEqual(["TIME_EXPIRED", "CYCLE_SWITCHED"])
    expect(decodeOutcome(encode(outcome), "1700000000000-3")).toEqual({
      ...outcome,
      lastEventId: "1700000000000-3",
      replayed: true
    })
  })

  it("renders the same answer as the first request had", () => {
    const outcome = expiringSwitch()
    const replayed = decodeOutcome(encode(outcome), "")
    expect(switchView(replayed.state!, replayed.events, replayed.serverTimeMs)).toEqual(
      switchView(outcome.state!, outcome.events, outcome.serverTimeMs)
    )
    expect(switchView(replayed.state!, replayed.events, replayed.serverTimeMs)["expired_participant_id"]).toBe("A")
  })

  it("keeps a deleted session deleted", () => {
    const table = new Table({ syncMode: "global", totalTimeMs: 10_000, participants: [{ participantId: "A" }] })
    const events = table.run({ type: "DeleteSession" }, 5)
    const outcome: Outcome = { state: null, events, version: 2, lastEventId: "", serverTimeMs: 5, replayed: false }
    expect(decodeOutcome(encode(outcome), "9-0")).toEqual({ ...outcome, lastEventId: "9-0", replayed: true })
  })

  it("refuses a record of another shape rather than misreading it", () => {
    expect(() => decodeOutcome(JSON.stringify({ session_id: "s", version: 3 }), "")).toThrow()
  })
})
