import { describe, expect, it } from "vitest"
import { makeSnapshotCache } from "../../src/app/SnapshotCache.ts"
import { encodeState } from "../../src/app/sessionCodec.ts"
import { evolve, type SessionState } from "../../src/domain/index.ts"
import type { LogEntry } from "../../src/infra/ShardLogReader.ts"

// The cache never looks inside a state: new sessions told apart by their id (the marker) stand for any.
const state = (marker: string): SessionState => evolve(null, {
  type: "SESSION_CREATED",
  at: 0,
  config: {
    sessionId: marker,
    syncMode: "global",
    participants: [{ participantId: "a", participantIndex: 0, totalTimeMs: 60_000, groupId: null }],
    totalTimeMs: 60_000,
    timePerCycleMs: null,
    incrementMs: 0,
    maxTimeMs: null,
    actionOnTimeout: "end_session",
    autoAdvance: false,
    timeoutWarningsMs: [],
    metadata: null
  }
})!
const stored = (marker: string) => encodeState(state(marker))
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
      entry("a", 4, stored("old")),
      entry("b", 9, stored("other")),
      entry("a", 6, stored("six")),
      entry("a", 7, stored("seven"))
    ])
    expect(cache.get("a")).toEqual({ version: 7, lastEventId: "7-9", state: state("seven") })
    expect(cache.get("b")).toBeUndefined()
  })

  it("drops a held session that the log shows deleted", () => {
    const cache = makeSnapshotCache(10)
    cache.remember("a", snapshot(5))
    cache.observe([entry("a", 6, "")])
    expect(cache.get("a")).toBeUndefined()
    cache.observe([entry("a", 7, stored("later"))])
    expect(cache.get("a")).toBeUndefined()
  })
})
