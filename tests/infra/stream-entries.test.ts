import { describe, expect, it } from "vitest"
import { toLogEntry, toStoredEvent } from "../../src/infra/streamEntries.ts"

const event = ["v", "3", "t", "CYCLE_SWITCHED", "at", "1700000000123", "p", "{\"n\":3}"]

describe("stream entries", () => {
  it("name a log entry's event by its log id", () => {
    expect(toLogEntry(2, ["1700000000200-1", ["sid", "s-1", ...event, "c", "1700000000000-0", "d", "1700000060000"]])).toEqual({
      logId: "1700000000200-1",
      shard: 2,
      sessionId: "s-1",
      version: 3,
      type: "CYCLE_SWITCHED",
      at: 1700000000123,
      payload: "{\"n\":3}",
      eventId: "1700000000200-1",
      incarnation: "1700000000000-0",
      dueAt: 1700000060000
    })
  })

  it("name the event of a log entry from an earlier release by its session-stream id (field e)", () => {
    const entry = toLogEntry(0, ["1700000000200-1", ["sid", "s-1", ...event, "e", "1700000000199-0", "c", "", "d", ""]])
    expect(entry).toMatchObject({ logId: "1700000000200-1", eventId: "1700000000199-0", incarnation: "", dueAt: null })
  })

  it("read an event from its log entry or from a session-stream entry of an earlier release alike", () => {
    const stored = { id: "1700000000200-1", version: 3, type: "CYCLE_SWITCHED", at: 1700000000123, payload: "{\"n\":3}" }
    expect(toStoredEvent(["1700000000200-1", ["sid", "s-1", ...event, "c", "1-0", "d", ""]])).toEqual(stored)
    expect(toStoredEvent(["1700000000200-1", event])).toEqual(stored)
  })
})
