/** The hold-and-release gate the shard-log reader and each socket's feed share, keyed here by version. */
import { describe, expect, it } from "vitest"
import { catchUpGate, type Gate } from "../../src/infra/follow/catchUpGate.ts"

interface Item {
  readonly version: number
}
const versions = catchUpGate<number, Item>({ keyOf: (item) => item.version, compare: (a, b) => a - b })
const live = (last: number): Gate<number, Item> => ({ last, holding: false, held: null })
const items = (...v: Array<number>): Array<Item> => v.map((version) => ({ version }))
const keys = (passed: ReadonlyArray<Item>) => passed.map((item) => item.version)

type Step = (gate: Gate<number, Item>) => { gate: Gate<number, Item>; passed: ReadonlyArray<Item> }
const offer = (...v: Array<number>): Step => (gate) => versions.offer(gate, items(...v))
const hold: Step = (gate) => ({ gate: versions.hold(gate), passed: [] })
const coveredTo = (last: number): Step => (gate) => ({ gate: versions.coveredTo(gate, last), passed: [] })
const release = (then: "live" | "holding"): Step => (gate) => versions.release(gate, then)

describe("the catch-up gate", () => {
  it.each<[string, Gate<number, Item>, ReadonlyArray<Step>, ReadonlyArray<number>, { last: number; holding: boolean }]>([
    ["live: lets through what is newer", live(3), [offer(4), offer(5, 6)], [4, 5, 6], { last: 6, holding: false }],
    ["live: drops what is not newer", live(5), [offer(4), offer(5), offer(5, 6, 6)], [6], { last: 6, holding: false }],
    ["holding: lets nothing through", versions.holding(0), [offer(1), offer(2, 3)], [], { last: 0, holding: true }],
    [
      "release: what the catch-up covered is dropped, the rest passes in arrival order",
      versions.holding(0),
      [offer(1), offer(2, 3), offer(4), coveredTo(2), release("live")],
      [3, 4],
      { last: 4, holding: false }
    ],
    ["release: live afterwards", versions.holding(0), [coveredTo(2), release("live"), offer(3)], [3], { last: 3, holding: false }],
    [
      "release: holding again for the catch-up queued behind, with nothing held",
      versions.holding(0),
      [offer(3), coveredTo(2), release("holding"), offer(4)],
      [3],
      { last: 3, holding: true }
    ],
    [
      "a catch-up from further back lets through again what is newer than it",
      live(0),
      [offer(1, 2, 3), hold, coveredTo(1), offer(4), release("live")],
      [1, 2, 3, 4],
      { last: 4, holding: false }
    ],
    ["hold keeps what is already held", versions.holding(0), [offer(1), hold, offer(2), release("live")], [1, 2], { last: 2, holding: false }],
    ["a covered catch-up passes nothing held", versions.holding(0), [offer(1), offer(2), coveredTo(5), release("live")], [], { last: 5, holding: false }]
  ])("%s", (_, start, steps, passed, end) => {
    const seen: Array<number> = []
    let gate = start
    for (const next of steps) {
      const result = next(gate)
      gate = result.gate
      seen.push(...keys(result.passed))
    }
    expect(seen).toEqual(passed)
    expect({ last: gate.last, holding: gate.holding }).toEqual(end)
  })
})
