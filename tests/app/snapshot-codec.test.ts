/**
 * Stored session states: every format version still reads as the state it was written from, the
 * current version is written byte for byte as frozen here, and what does not decode fails by name.
 */
import { readdirSync, readFileSync } from "node:fs"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeState, encodeState } from "../../src/app/sessionCodec.ts"
import { type SessionState, STATUSES, SYNC_MODES } from "../../src/domain/index.ts"
import { SnapshotUnreadable } from "../../src/infra/snapshotCodec.ts"
import { scenarioArb, statesOf } from "../domain/arbitraries.ts"

const FIXTURES = new URL("../fixtures/snapshots/", import.meta.url)
const fixture = (path: string): string => readFileSync(new URL(path, FIXTURES), "utf8").trim()
/** The same sessions in every version: version 1 is the state itself, as JSON. */
const NAMES = readdirSync(new URL("v1/", FIXTURES))
const stateOf = (name: string): SessionState => JSON.parse(fixture(`v1/${name}`))

const failureOf = (json: string): SnapshotUnreadable => {
  try {
    decodeState(json)
  } catch (error) {
    if (error instanceof SnapshotUnreadable) return error
    throw error
  }
  throw new Error(`decoded: ${json}`)
}

describe("format version 1, the state as plain JSON (snapshots written before versions)", () => {
  it("has fixtures of every sync mode and status", () => {
    const states = NAMES.map(stateOf)
    expect(new Set(states.map((s) => s.config.syncMode))).toEqual(new Set(SYNC_MODES))
    expect(new Set(states.map((s) => s.status))).toEqual(new Set(STATUSES))
  })

  it.each(NAMES)("%s reads as the state it was written from", (name) => {
    expect(decodeState(fixture(`v1/${name}`))).toEqual(stateOf(name))
  })

  it("reads as PostgreSQL's jsonb column gives it back (keys reordered, spaced)", () => {
    expect(decodeState(fixture("postgres/v1-per_participant-running.json"))).toEqual(stateOf("per_participant-running.json"))
  })
})

describe("format version 2, flat with defaults left out (written before version 3)", () => {
  it.each(NAMES)("%s reads as the state it was written from", (name) => {
    expect(decodeState(fixture(`v2/${name}`))).toEqual(stateOf(name))
  })

  it("reads as PostgreSQL's jsonb column gives it back", () => {
    expect(decodeState(fixture("postgres/v2-per_participant-running.json"))).toEqual(stateOf("per_participant-running.json"))
  })
})

describe("format version 3, the one written", () => {
  // Frozen: stored snapshots are read for years, so an encoding that differs is a new version.
  it.each(NAMES)("%s is written exactly as its version-3 fixture and reads back as the same state", (name) => {
    const v3 = fixture(`v3/${name}`)
    expect(encodeState(stateOf(name))).toBe(v3)
    expect(decodeState(v3)).toEqual(stateOf(name))
  })

  it("reads as PostgreSQL's jsonb column gives it back", () => {
    expect(decodeState(fixture("postgres/v3-per_participant-running.json"))).toEqual(stateOf("per_participant-running.json"))
  })

  it("keeps a snapshot under 1 KB, the bench's session (two participants, no metadata) within Redis's 512-byte allocation", () => {
    for (const name of NAMES) expect(Buffer.byteLength(encodeState(stateOf(name))), name).toBeLessThan(1_024)
    // A hash field's value of 256 bytes or more takes 6 more (header, terminator): 506 fill jemalloc's 512-byte class.
    expect(Buffer.byteLength(encodeState(stateOf("per_participant-bench.json")))).toBeLessThanOrEqual(506)
  })

  it("refuses a state whose participants differ from its configuration's rather than store it wrong", () => {
    const state = stateOf("per_group-paused.json")
    const swapped = { ...state, participants: [...state.participants].reverse() }
    expect(() => encodeState(swapped)).toThrow(/participants differ/)
  })
})

describe("a stored state that does not decode", () => {
  const v2 = JSON.parse(fixture("v2/per_participant-running.json"))
  const v3 = JSON.parse(fixture("v3/per_participant-running.json"))

  it("fails with SnapshotUnreadable naming the version and the field, whatever the version", () => {
    const v1Broken = failureOf(JSON.stringify({ ...stateOf("global-completed.json"), participants: [{ participantId: 7 }] }))
    expect(v1Broken).toMatchObject({ _tag: "SnapshotUnreadable", formatVersion: 1 })
    expect(v1Broken.message).toMatch(/format version 1/)
    expect(v1Broken.message).toMatch(/\["participants"\]\[0\]/)

    const v2Broken = failureOf(JSON.stringify({ ...v2, participants: [{ ...v2.participants[0], timeUsedMs: "8500" }] }))
    expect(v2Broken).toMatchObject({ formatVersion: 2 })
    expect(v2Broken.message).toMatch(/\["participants"\]\[0\]\["timeUsedMs"\]/)

    const { sessionId: _dropped, ...v2Missing } = v2
    expect(failureOf(JSON.stringify(v2Missing)).message).toMatch(/\["sessionId"\]/)

    const v3Broken = failureOf(JSON.stringify({ ...v3, active: 2 }))
    expect(v3Broken).toMatchObject({ formatVersion: 3 })
    expect(v3Broken.message).toMatch(/no participant at position 2/)
    expect(failureOf(JSON.stringify({ ...v3, active: 0.5 })).message).toMatch(/\["active"\]/)
  })

  it("fails the same way when it is not JSON, or of a version this service does not read", () => {
    expect(failureOf("{\"config\":")).toMatchObject({ formatVersion: null, message: expect.stringMatching(/not JSON/) })
    expect(failureOf(JSON.stringify({ ...v3, _v: 4 }))).toMatchObject({ formatVersion: 4, message: expect.stringMatching(/reads versions 1, 2, 3/) })
    expect(failureOf(JSON.stringify({ ...v2, _v: "2" }))).toMatchObject({ formatVersion: null })
    expect(failureOf("null")).toMatchObject({ formatVersion: 1 })
  })
})

describe("every state the domain produces", () => {
  // Metadata arrives as a JSON body, so it holds what JSON holds.
  const metadataArb = fc.option(fc.dictionary(fc.string(), fc.jsonValue()).map((m) => JSON.parse(JSON.stringify(m))), { nil: undefined })
  const withMetadata = fc.tuple(scenarioArb, metadataArb).map(([scenario, metadata]) => ({ ...scenario, input: { ...scenario.input, metadata } }))

  it("reads back as written, in the current version and in version 1", () => {
    fc.assert(
      fc.property(withMetadata, (scenario) => {
        for (const state of statesOf(scenario)) {
          expect(decodeState(encodeState(state))).toEqual(state)
          expect(decodeState(JSON.stringify(state))).toEqual(state)
        }
      }),
      { numRuns: 200 }
    )
  }, 60_000)
})
