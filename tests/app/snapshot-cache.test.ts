import { describe, expect, it } from "vitest"
import { makeSnapshotCache } from "../../src/app/SnapshotCache.ts"
import { eventPayload, evolve, type SessionEvent, type SessionState } from "../../src/domain/index.ts"
import type { LogEntry } from "../../src/infra/streamEntries.ts"
import { at, configOf, ev, s } from "../domain/decider.spec.ts"

/** A session of two participants switching turns: its state after each version, 1 to 12. */
const history: ReadonlyArray<SessionEvent> = [
  ev.created(configOf({ syncMode: "per_participant" }), at(0)),
  ev.started(at(s(1))),
  ...Array.from({ length: 10 }, (_, i) => ev.switched(at(s(2 + i)), i % 2 === 0 ? "A" : "B", i % 2 === 0 ? "B" : "A"))
]
const stateAt = (version: number): SessionState => history.slice(0, version).reduce<SessionState | null>(evolve, null)!
const snapshot = (version: number) => ({ version, lastEventId: `${version}-0`, state: stateAt(version) })
const entryOf = (sessionId: string, version: number, event: SessionEvent): LogEntry => ({
  logId: `${version}-1`,
  shard: 0,
  sessionId,
  version,
  type: event.type,
  at: event.at,
  payload: JSON.stringify(eventPayload(event)),
  eventId: `${version}-9`,
  incarnation: "1-9",
  dueAt: null
})
/** The log entry of the event that made version `version` of the session. */
const entry = (sessionId: string, version: number): LogEntry => entryOf(sessionId, version, history[version - 1]!)

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

  it("folds the next versions of held sessions from the log, ignores older ones and sessions it does not hold", () => {
    const cache = makeSnapshotCache(10)
    cache.remember("a", snapshot(5))
    cache.observe([entry("a", 4), entry("b", 9), entry("a", 6), entry("a", 7)])
    expect(cache.get("a")).toEqual({ version: 7, lastEventId: "7-9", state: stateAt(7) })
    expect(cache.get("b")).toBeUndefined()
  })

  it("stays current over many commits from elsewhere, as the committing instance's state", () => {
    const cache = makeSnapshotCache(10)
    cache.remember("a", snapshot(2))
    for (let version = 3; version <= 12; version++) cache.observe([entry("a", version)])
    expect(cache.get("a")).toEqual({ version: 12, lastEventId: "12-9", state: stateAt(12) })
    expect(cache.get("a")?.state.version).toBe(12)
  })

  it("drops a held session when an entry skips a version: nothing to fold it into", () => {
    const cache = makeSnapshotCache(10)
    cache.remember("a", snapshot(5))
    cache.observe([entry("a", 7)])
    expect(cache.get("a")).toBeUndefined()
  })

  it("drops a held session that the log shows deleted", () => {
    const cache = makeSnapshotCache(10)
    cache.remember("a", snapshot(5))
    cache.observe([entryOf("a", 6, { type: "SESSION_DELETED", at: at(s(30)) })])
    expect(cache.get("a")).toBeUndefined()
    cache.observe([entry("a", 7)])
    expect(cache.get("a")).toBeUndefined()
  })
})
