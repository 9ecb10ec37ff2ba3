import { describe, expect, it } from "vitest"
import { placementOf, placementWarning } from "../../src/infra/ShardPlacement.ts"

// Three masters with the slot ranges `redis-cli --cluster create` gives them.
const masters = ["a:1", "b:1", "c:1"]
const masterOf = (slot: number) => (slot <= 5460 ? "a:1" : slot <= 10922 ? "b:1" : "c:1")

describe("where the shards land", () => {
  it("counts the shards of every master, those without any too", () => {
    const placement = placementOf([0, 100, 6000, 16000], masterOf, masters)
    expect([...placement.shardsByMaster]).toEqual([["a:1", 2], ["b:1", 1], ["c:1", 1]])
    expect(placement.idleMasters).toEqual([])
    expect(placementWarning(4, placement)).toBeUndefined()
  })

  it("warns, naming the idle masters, when the shards leave some without load", () => {
    const placement = placementOf([0, 6000], masterOf, masters)
    expect(placement.idleMasters).toEqual(["c:1"])
    expect(placementWarning(2, placement)).toMatch(/^SHARD_COUNT=2 puts the shards on 2 of the cluster's 3 masters; no shard on c:1/)
  })

  it("ignores slots no master serves (a cluster that is not ok yet)", () => {
    const placement = placementOf([0, 1], (slot) => (slot === 0 ? "a:1" : undefined), masters)
    expect(placement.idleMasters).toEqual(["b:1", "c:1"])
  })
})
