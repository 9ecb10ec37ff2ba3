/** The ISO instants of views and frames: written by arithmetic, exactly as Date writes them. */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { toIso } from "../../src/domain/index.ts"

const YEAR_10000_MS = 253_402_300_800_000

describe("toIso", () => {
  it("writes what Date's toISOString writes, for every instant", () => {
    fc.assert(
      fc.property(fc.integer({ min: -YEAR_10000_MS, max: 2 * YEAR_10000_MS }), (ms) => {
        expect(toIso(ms)).toBe(new Date(ms).toISOString())
      }),
      { numRuns: 20_000 }
    )
  })

  it("gets the edges of days, months, leap days and centuries right", () => {
    const edges = [
      0, 999, 86_399_999, 86_400_000, // the epoch's first day
      951_782_400_000, 951_868_799_999, // 2000-02-29, a leap day of a century divisible by 400
      4_107_542_400_000, // 2100-03-01, after a February without a leap day
      1_709_164_800_000, // 2024-02-29
      1_735_689_599_999, 1_735_689_600_000, // the turn of 2025
      YEAR_10000_MS - 1, YEAR_10000_MS, -1
    ]
    for (const ms of edges) expect(toIso(ms), String(ms)).toBe(new Date(ms).toISOString())
    expect(toIso(null)).toBeNull()
  })
})
