import { describe, expect, it } from "vitest"
import { gapAfterReset, type LogLook, MISSING_LOG, resumeIdAfterReset, wasReset } from "../../src/infra/logLook.ts"

const look = (entriesAdded: number, lastGeneratedId: string, firstId: string | null, lastId: string | null, epoch = "e1"): LogLook =>
  ({ epoch, entriesAdded, lastGeneratedId, firstId, lastId })
const missing = (epoch = "e1"): LogLook => ({ ...MISSING_LOG, epoch })

describe("wasReset", () => {
  const earlier = look(500, "2000-3", "1500-0", "2000-3")
  it.each([
    ["no earlier look", undefined, look(1, "1-0", "1-0", "1-0"), false],
    ["the log grew", earlier, look(520, "2100-0", "1500-0", "2100-0"), false],
    ["the log was trimmed, even to empty", earlier, look(520, "2100-0", null, null), false],
    ["nothing happened", earlier, earlier, false],
    ["the key is gone", earlier, missing(), true],
    ["another epoch: Redis lost its data, then more commits than before", earlier, look(900, "2500-0", "2200-0", "2500-0", "e2"), true],
    ["created again by new commits (fewer entries ever added)", earlier, look(3, "2200-0", "2200-0", "2200-2"), true],
    ["a replica that lacked the latest writes", earlier, look(500, "1990-0", "1500-0", "1990-0"), true],
    ["a replica behind, then more commits than it lacked", earlier, look(498, "2300-0", "1500-0", "2300-0"), true]
  ])("%s", (_, before, now, expected) => {
    expect(wasReset(before, now)).toBe(expected)
  })
})

describe("gapAfterReset", () => {
  it.each([
    ["nothing read yet", null, look(2, "9-0", "8-0", "9-0"), null],
    ["nothing read yet (0-0)", "0-0", missing(), null],
    ["the log is empty: lost up to the loss", "5-0", missing(), { shard: 3, after: "5-0", before: null }],
    ["new entries follow: lost until the first of them", "5-0", look(2, "9-0", "8-0", "9-0"), { shard: 3, after: "5-0", before: "8-0" }],
    ["the new log starts before what was read", "5-0", look(2, "9-0", "4-0", "9-0"), { shard: 3, after: "5-0", before: null }]
  ])("%s", (_, lastReadId, now, expected) => {
    expect(gapAfterReset(3, lastReadId, now)).toEqual(expected)
  })
})

describe("resumeIdAfterReset", () => {
  it.each([
    ["newer entries stay ahead", "5-0", look(2, "9-0", "8-0", "9-0"), "5-0"],
    ["an empty log is followed from the start", "5-0", missing(), "0-0"],
    ["a log behind what was read is followed from its tip", "5-0", look(2, "3-0", "2-0", "3-0"), "3-0"]
  ])("%s", (_, lastReadId, now, expected) => {
    expect(resumeIdAfterReset(lastReadId, now)).toBe(expected)
  })
})
