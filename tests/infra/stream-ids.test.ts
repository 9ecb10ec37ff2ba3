import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { compareStreamIds, nextStreamId, streamIdMs } from "../../src/infra/streamIds.ts"

const streamId = fc.record({ ms: fc.nat({ max: 2 ** 52 }), seq: fc.nat({ max: 2 ** 40 }) })
const text = ({ ms, seq }: { ms: number; seq: number }) => `${ms}-${seq}`

describe("stream ids", () => {
  it("order by milliseconds, then by sequence, both as numbers", () => {
    expect(compareStreamIds("5-10", "5-9")).toBeGreaterThan(0)
    expect(compareStreamIds("10-0", "9-99")).toBeGreaterThan(0)
    fc.assert(fc.property(streamId, streamId, (a, b) => {
      const expected = a.ms === b.ms ? Math.sign(a.seq - b.seq) : Math.sign(a.ms - b.ms)
      expect(Math.sign(compareStreamIds(text(a), text(b)))).toBe(expected)
    }))
  })

  it("give the Redis time they were appended at", () => {
    fc.assert(fc.property(streamId, (id) => {
      expect(streamIdMs(text(id))).toBe(id.ms)
    }))
  })

  it("have a next id: the smallest one after", () => {
    fc.assert(fc.property(streamId, streamId, (id, other) => {
      const next = nextStreamId(text(id))
      expect(compareStreamIds(next, text(id))).toBeGreaterThan(0)
      // Nothing lies between an id and its next.
      expect(compareStreamIds(text(other), text(id)) > 0 && compareStreamIds(text(other), next) < 0).toBe(false)
    }))
  })
})
