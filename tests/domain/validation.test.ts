import { describe, expect, it } from "vitest"
import { type CreateSessionInput, DAY, MAX_INCREMENT_MS, MAX_PARTICIPANTS, toSessionConfig } from "../../src/domain/index.ts"
import { at, cmd, createInput, given } from "./decider.spec.ts"

type Input = Partial<CreateSessionInput> & Pick<CreateSessionInput, "syncMode">

const fieldsOf = (input: Input): Array<string> => {
  const error = given().when(cmd.create(input), at(0)).thenFails("InvalidCommand")
  return error.issues.map((i) => i.field)
}

describe("create validation", () => {
  it.each<[string, Input, Array<string>]>([
    [
      "duplicate participant ids",
      { syncMode: "per_participant", participants: [{ participantId: "A" }, { participantId: "B" }, { participantId: "A" }] },
      ["participants[2].participant_id"]
    ],
    [
      "duplicate participant indexes",
      {
        syncMode: "per_participant",
        participants: [{ participantId: "A", participantIndex: 3 }, { participantId: "B", participantIndex: 3 }]
      },
      ["participants[1].participant_index"]
    ],
    [
      "an explicit index colliding with a defaulted one (the position)",
      {
        syncMode: "per_participant",
        participants: [{ participantId: "A", participantIndex: 1 }, { participantId: "B" }]
      },
      ["participants[1].participant_index"]
    ],
    ["per_cycle without time_per_cycle_ms", { syncMode: "per_cycle" }, ["time_per_cycle_ms"]],
    [
      "per_group without group_id",
      { syncMode: "per_group", participants: [{ participantId: "A", groupId: "red" }, { participantId: "B" }] },
      ["participants[1].group_id"]
    ],
    ["time_per_cycle_ms outside per_cycle", { syncMode: "per_participant", timePerCycleMs: 5_000 }, ["time_per_cycle_ms"]],
    ["max_time_ms outside count_up", { syncMode: "global", maxTimeMs: 5_000 }, ["max_time_ms"]],
    ["auto_advance outside per_cycle", { syncMode: "per_participant", autoAdvance: true }, ["auto_advance"]],
    ["increment_ms in per_cycle", { syncMode: "per_cycle", timePerCycleMs: 5_000, incrementMs: 1_000 }, ["increment_ms"]],
    ["increment_ms in global", { syncMode: "global", incrementMs: 1_000 }, ["increment_ms"]],
    ["increment_ms in count_up", { syncMode: "count_up", incrementMs: 1_000 }, ["increment_ms"]],
    ["increment_ms above the maximum", { syncMode: "per_participant", incrementMs: MAX_INCREMENT_MS + 1 }, ["increment_ms"]],
    ["negative increment_ms", { syncMode: "per_participant", incrementMs: -1 }, ["increment_ms"]],
    ["fractional increment_ms", { syncMode: "per_participant", incrementMs: 1.5 }, ["increment_ms"]],
    ["total_time_ms under 1 s", { syncMode: "global", totalTimeMs: 999 }, ["total_time_ms"]],
    ["total_time_ms over 24 h", { syncMode: "global", totalTimeMs: DAY + 1 }, ["total_time_ms"]],
    ["fractional total_time_ms", { syncMode: "global", totalTimeMs: 1_000.5 }, ["total_time_ms"]],
    ["a participant's total_time_ms out of range", { syncMode: "per_participant", participants: [{ participantId: "A", totalTimeMs: 0 }] }, [
      "participants[0].total_time_ms"
    ]],
    ["time_per_cycle_ms under 1 s", { syncMode: "per_cycle", timePerCycleMs: 500 }, ["time_per_cycle_ms"]],
    ["max_time_ms over 24 h", { syncMode: "count_up", maxTimeMs: DAY + 1 }, ["max_time_ms"]],
    ["no participants", { syncMode: "global", participants: [] }, ["participants"]],
    [
      "too many participants",
      { syncMode: "global", participants: Array.from({ length: MAX_PARTICIPANTS + 1 }, (_, i) => ({ participantId: `p${i}` })) },
      ["participants"]
    ]
  ])("rejects %s", (_name, input, fields) => {
    expect(fieldsOf(input)).toEqual(fields)
  })

  it("lists every issue of a request at once, with field paths", () => {
    const error = given().when(
      cmd.create({
        syncMode: "per_group",
        totalTimeMs: 10,
        timePerCycleMs: 5_000,
        maxTimeMs: 5_000,
        autoAdvance: true,
        participants: [{ participantId: "A", groupId: "red" }, { participantId: "A" }]
      }),
      at(0)
    ).thenFails("InvalidCommand")
    expect(error.issues.map((i) => i.field)).toEqual([
      "total_time_ms",
      "time_per_cycle_ms",
      "max_time_ms",
      "auto_advance",
      "participants[1].participant_id",
      "participants[1].group_id"
    ])
    expect(error.message).toContain("participants[1].group_id: is required for per_group sessions")
  })

  it("accepts the boundaries: 1 s, 24 h, increment 0 and 60 s, 1 and 1000 participants", () => {
    const ok = (input: Input) => expect(toSessionConfig(createInput(input))).toHaveProperty("config")
    ok({ syncMode: "global", totalTimeMs: 1_000 })
    ok({ syncMode: "global", totalTimeMs: DAY })
    ok({ syncMode: "per_participant", incrementMs: 0 })
    ok({ syncMode: "per_participant", incrementMs: MAX_INCREMENT_MS })
    ok({ syncMode: "per_group", incrementMs: MAX_INCREMENT_MS, participants: [{ participantId: "A", groupId: "g" }] })
    ok({ syncMode: "count_up", maxTimeMs: DAY })
    ok({ syncMode: "per_cycle", timePerCycleMs: 1_000, autoAdvance: true })
    ok({ syncMode: "global", participants: [{ participantId: "solo" }] })
    ok({ syncMode: "global", participants: Array.from({ length: MAX_PARTICIPANTS }, (_, i) => ({ participantId: `p${i}` })) })
    // Explicit false/zero for mode-only switches is not "present".
    ok({ syncMode: "global", autoAdvance: false, incrementMs: 0 })
  })

  it.each<[Input["syncMode"], string]>([
    ["per_participant", "end_session"],
    ["per_cycle", "skip_cycle"],
    ["per_group", "end_session"],
    ["global", "end_session"],
    ["count_up", "end_session"]
  ])("%s defaults action_on_timeout to %s", (syncMode, action) => {
    const extra: Partial<Input> =
      syncMode === "per_cycle"
        ? { timePerCycleMs: 5_000 }
        : syncMode === "per_group"
        ? { participants: [{ participantId: "A", groupId: "g" }] }
        : {}
    const checked = toSessionConfig(createInput({ syncMode, ...extra }))
    expect(checked).toHaveProperty("config.actionOnTimeout", action)
  })

  it("fills defaults: index = position, each participant's bank = total_time_ms, no increment, no auto_advance", () => {
    const checked = toSessionConfig(createInput({
      syncMode: "per_participant",
      participants: [{ participantId: "A" }, { participantId: "B", totalTimeMs: 90_000 }]
    }))
    expect(checked).toEqual({
      config: {
        sessionId: createInput({ syncMode: "global" }).sessionId,
        syncMode: "per_participant",
        participants: [
          { participantId: "A", participantIndex: 0, totalTimeMs: 60_000, groupId: null },
          { participantId: "B", participantIndex: 1, totalTimeMs: 90_000, groupId: null }
        ],
        totalTimeMs: 60_000,
        timePerCycleMs: null,
        incrementMs: 0,
        maxTimeMs: null,
        actionOnTimeout: "end_session",
        autoAdvance: false,
        timeoutWarningsMs: [],
        metadata: null
      }
    })
  })

  it("orders participants by participant_index, not by position", () => {
    const checked = toSessionConfig(createInput({
      syncMode: "per_participant",
      participants: [
        { participantId: "C", participantIndex: 7 },
        { participantId: "A", participantIndex: -2 },
        { participantId: "B", participantIndex: 3 }
      ]
    }))
    if (!("config" in checked)) throw new Error("rejected")
    expect(checked.config.participants.map((p) => p.participantId)).toEqual(["A", "B", "C"])
  })
})
