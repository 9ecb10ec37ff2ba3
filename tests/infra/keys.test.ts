/** Session placement must be the same on every instance and release: the hash is over the id's UTF-8 bytes. */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { fnv1a32, makeKeySchema } from "../../src/infra/keys.ts"

/** FNV-1a 32-bit as its specification gives it, over bytes. */
const reference = (input: string): number => {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(input, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
  return hash
}

describe("the key schema", () => {
  it("hashes any id as FNV-1a over its UTF-8 bytes, ASCII or not", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5)
    expect(fnv1a32("a")).toBe(0xe40c292c)
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (id) => fnv1a32(id) === reference(id)))
    fc.assert(fc.property(fc.uuid(), (id) => fnv1a32(id) === reference(id)))
  })

  it("puts every key of a session under its shard's hash tag", () => {
    const keys = makeKeySchema({ keyPrefix: "t:", shardCount: 16 })
    fc.assert(fc.property(fc.string({ unit: "grapheme", minLength: 1 }), (id) => {
      const session = keys.session(id)
      const tag = `t:{${keys.shardOf(id)}}:`
      expect(session).toMatchObject(keys.shard(keys.shardOf(id)))
      for (const key of [session.snapshot, session.index, session.tombstone, session.idempotency("k"), session.log, session.feed]) {
        expect(key.startsWith(tag)).toBe(true)
      }
    }))
  })
})
