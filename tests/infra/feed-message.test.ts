/** The messages commit-7 publishes on a shard's feed channel, as every instance's reader parses them. */
import { describe, expect, it } from "vitest"
import { parseFeedMessage } from "../../src/infra/ShardLogReader.ts"

const fields = ["sid", "s-1", "v", "7", "t", "CYCLE_SWITCHED", "at", "1795305919821", "p", "{\"incrementMs\":0}", "e", "1795305919821-0", "c", "1795305900000-0", "d", ""]

describe("parseFeedMessage", () => {
  it("reads the id of the entry before and each entry appended", () => {
    const message = JSON.stringify(["1795305919000-3", [["1795305919821-0", fields], ["1795305919821-1", fields.with(3, "8")]]])
    const parsed = parseFeedMessage(5, message)
    expect(parsed.previousId).toBe("1795305919000-3")
    expect(parsed.entries).toEqual([
      {
        logId: "1795305919821-0",
        shard: 5,
        sessionId: "s-1",
        version: 7,
        type: "CYCLE_SWITCHED",
        at: 1795305919821,
        payload: "{\"incrementMs\":0}",
        eventId: "1795305919821-0",
        incarnation: "1795305900000-0",
        dueAt: null
      },
      expect.objectContaining({ logId: "1795305919821-1", version: 8 })
    ])
  })

  it.each([
    ["text that is not JSON", "not a commit"],
    ["an object", "{\"previous\":\"0-0\"}"],
    ["no entries", "[\"0-0\"]"],
    ["a third element", "[\"0-0\",[],\"x\"]"],
    ["a previous id that is not a string", "[0,[]]"],
    ["entries that are not a list", "[\"0-0\",{}]"],
    ["an entry without fields", "[\"0-0\",[[\"1-0\"]]]"],
    ["an entry id that is not a string", "[\"0-0\",[[1,[\"v\",\"1\"]]]]"],
    ["a field value that is not a string", "[\"0-0\",[[\"1-0\",[\"v\",1]]]]"],
    ["null", "null"]
  ])("throws on %s: it did not come from a commit", (_, message) => {
    expect(() => parseFeedMessage(0, message)).toThrow()
  })
})
