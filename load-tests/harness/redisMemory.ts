import type { RedisAdmin } from "./redis.ts"
import { median } from "./report.ts"

/** What a key holds, from its name in the service's key schema (src/infra/keys.ts, AuditQueue's prefix). */
export const KEY_KINDS = [
  { kind: "snapshots", pattern: /\}:snap:/ },
  { kind: "session indexes", pattern: /\}:index:/ },
  { kind: "shard logs", pattern: /\}:log$/ },
  { kind: "deadline index", pattern: /\}:deadlines$/ },
  { kind: "idempotency", pattern: /\}:idem:/ },
  { kind: "BullMQ (audit)", pattern: /\{audit\}/ }
] as const

export type KeyKind = (typeof KEY_KINDS)[number]["kind"] | "other"

export const kindOf = (key: string): KeyKind => KEY_KINDS.find((k) => k.pattern.test(key))?.kind ?? "other"

export interface KindFootprint {
  readonly kind: KeyKind
  readonly keys: number
  /** MEMORY USAGE summed over the kind's keys. */
  readonly bytes: number
  /** Entries of its streams and sorted sets (null for kinds of neither). */
  readonly entries: number | null
  /** The first few key names, to tell what "other" is. */
  readonly examples: ReadonlyArray<string>
}

export interface MemoryPicture {
  readonly usedMemory: number
  readonly kinds: ReadonlyArray<KindFootprint>
  /** The median MEMORY USAGE of one snapshot key (null without snapshots). */
  readonly snapshotBytes: number | null
}

/** Every key of the server, by kind: how many, how many bytes, how many stream and sorted-set entries. */
export const memoryPicture = async (redis: RedisAdmin): Promise<MemoryPicture> => {
  const usedMemory = await redis.usedMemory()
  const footprints = await redis.footprints(await redis.keys())
  const kinds = [...KEY_KINDS.map((k) => k.kind), "other" as const].map((kind): KindFootprint => {
    const mine = footprints.filter((f) => kindOf(f.key) === kind)
    const lengths = mine.map((f) => f.entries).filter((n): n is number => n !== null)
    return {
      kind,
      keys: mine.length,
      bytes: mine.reduce((sum, f) => sum + f.bytes, 0),
      entries: lengths.length === 0 ? null : lengths.reduce((a, b) => a + b, 0),
      examples: mine.slice(0, 3).map((f) => f.key)
    }
  })
  const snapshots = footprints.filter((f) => kindOf(f.key) === "snapshots").map((f) => f.bytes)
  return { usedMemory, kinds, snapshotBytes: snapshots.length === 0 ? null : median(snapshots) }
}
