import { describe, expect, it } from "vitest"
import { makeSnapshotCache } from "../../src/app/SnapshotCache.ts"
import type { SessionState } from "../../src/domain/index.ts"
import type { LogEntry } from "../../src/infra/ShardLogReader.ts"

// The cache never looks inside a state: a marker object stands for one.
const state = (marker: string) => ({ marker }) as unknown as SessionState
const snapshot = (version: number, marker = `v${version}`) => ({ version, lastEventId: `${version}-0`, state: state(marker) })
const entry = (sessionId: string, version: number, stateAfter: string): LogEntry => ({
  logId: `${version}-1`,
  shard: 0,
  sessionId,
  version,
  type: "CYCLE_SWITCHED",
  at: 0,
  payload: "{}",
  eventId: `${version}-9`,
  stateAfter,
  incarnation: "1-9"
})

describe("SnapshotCache", () => {
  it("returns what was remembered, and nothing for a session it never held", () => {
    const cache = makeSnapshotCache(10)
    cache.remember("a", snapshot(3))
    expect(cache.get("a")).toEqual(snapshot(3))
    expect(cache.get("b")).toBeUndefined()
  })

  it("forgets a session remembered as gone, or forgotten", () => {
    const cache = makeSnapshotCache(10)
    cache.remember("a", snapshot(3))
    cache.remember("a", null)
    expect(cache.get("a")).toBeUndefined()
    cache.remember("b", snapshot(1))
    cache.forget("b")
    expect(cache.get("b")).toBeUndefined()
  })

  it("holds at most its capacity, the least recently remembered leaving first", () => {
    const cache = makeSnapshotCache(2)
    cache.remember("a", snapshot(1))
    cache.remember("b", snapshot(1))
    cache.remember("a", snapshot(2))
    cache.remember("c", snapshot(1))
    expect(cache.size()).toBe(2)
    expect(cache.get("b")).toBeUndefined()
    expect(cache.get("a")?.version).toBe(2)
    expect(cache.get("c")?.version).toBe(1)
  })

  it("with capacity 0 holds nothing", () => {
    const cache = makeSnapshotCache(0)
    cache.remember("a", snapshot(1))
    expect(cache.get("a")).toBeUndefined()
    expect(cache.size()).toBe(0)
  })

  it("takes newer versions of held sessions from the log, ignores older ones and sessions it does not hold", () => {
    const cache = makeSnapshotCache(10)
    cache.remember("a", snapshot(5))
    cache.observe([
      entry("a", 4, JSON.stringify({ marker: "old" })),
      entry("b", 9, JSON.stringify({ marker: "other" })),
      entry("a", 6, JSON.stringify({ marker: "six" })),
      entry("a", 7, JSON.stringify({ marker: "seven" }))
    ])
    expect(cache.get("a")).toEqual({ version: 7, lastEventId: "7-9", state: state("seven") })
    expect(cache.get("b")).toBeUndefined()
  })

  it("drops a held session that the log shows deleted", () => {
    const cache = makeSnapshotCache(10)
    cache.remember("a", snapshot(5))
    cache.observe([entry("a", 6, "")])
    expect(cache.get("a")).toBeUndefined()
    cache.observe([entry("a", 7, JSON.stringify({ marker: "later" }))])
    expect(cache.get("a")).toBeUndefined()
  })
})
