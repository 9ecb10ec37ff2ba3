/**
 * The one key schema. Every key of a session, its shard log and its shard's deadline index carry the
 * hash tag `{<shard>}`, so a script touching them stays inside one Redis Cluster slot.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5
const FNV_PRIME = 0x01000193

/**
 * FNV-1a 32-bit over the UTF-8 bytes: stable across instances and languages. Session ids are UUIDs,
 * whose characters are their own UTF-8 bytes, so the hot path reads them without encoding a buffer.
 */
export const fnv1a32 = (input: string): number => {
  let hash = FNV_OFFSET_BASIS
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i)
    if (code > 0x7f) return fnv1a32Bytes(Buffer.from(input, "utf8"))
    hash = Math.imul(hash ^ code, FNV_PRIME)
  }
  return hash >>> 0
}

const fnv1a32Bytes = (bytes: Uint8Array): number => {
  let hash = FNV_OFFSET_BASIS
  for (const byte of bytes) hash = Math.imul(hash ^ byte, FNV_PRIME)
  return hash >>> 0
}

export const shardOf = (sessionId: string, shardCount: number): number => fnv1a32(sessionId) % shardCount

export interface ShardKeys {
  readonly shard: number
  /** Stream of every event of the shard, whole but without states (fan-out, audit and session reads); see commit-7. */
  readonly log: string
  /** Sharded pub/sub channel on which each commit publishes the log entries it appended. */
  readonly feed: string
  /** Sorted set: member = session id, score = next deadline (epoch ms). */
  readonly deadlines: string
  /**
   * String: a random value the log's readers set when it is missing. Redis losing its data loses it
   * too, so a reader that finds another value (or none) knows the log it follows was lost.
   */
  readonly epoch: string
}

export interface SessionKeys extends ShardKeys {
  readonly sessionId: string
  /** Hash: v (version), s (state JSON), e (last event id), c (incarnation): the one copy of the state. */
  readonly snapshot: string
  /**
   * Sorted set, the session's index of the shard log: member = event id (the id of the event's
   * shard-log entry), score = its version, for the events of the resume window
   * (StoreSettings.resumeWindowMs). A sorted set this small is a listpack allocated to fit, where a
   * stream preallocates a 4 KB node (see commit-7).
   */
  readonly index: string
  /** Hash f/e/b of one idempotency key of this session. */
  readonly idempotency: (key: string) => string
  /** String: the id of the event that deleted the session, kept while its index is (see commit-7). */
  readonly tombstone: string
}

export interface KeySchema {
  readonly shardOf: (sessionId: string) => number
  readonly shard: (shard: number) => ShardKeys
  readonly session: (sessionId: string) => SessionKeys
}

export const makeKeySchema = (settings: { readonly keyPrefix: string; readonly shardCount: number }): KeySchema => {
  const tag = (shard: number) => `${settings.keyPrefix}{${shard}}:`
  const shardKeysOf = (shard: number): ShardKeys => ({
    shard,
    log: `${tag(shard)}log`,
    feed: `${tag(shard)}feed`,
    deadlines: `${tag(shard)}deadlines`,
    epoch: `${tag(shard)}epoch`
  })
  // Built once: every command names its shard's keys.
  const shards = Array.from({ length: settings.shardCount }, (_, shard) => shardKeysOf(shard))
  const shard = (shard: number): ShardKeys => shards[shard] ?? shardKeysOf(shard)
  // Fields named one by one: spreading the shard's keys into the object costs over ten times as much,
  // and every command and audit batch builds one of these per session.
  const session = (sessionId: string): SessionKeys => {
    const keys = shard(shardOf(sessionId, settings.shardCount))
    const base = tag(keys.shard)
    return {
      shard: keys.shard,
      log: keys.log,
      feed: keys.feed,
      deadlines: keys.deadlines,
      epoch: keys.epoch,
      sessionId,
      snapshot: `${base}snap:${sessionId}`,
      index: `${base}index:${sessionId}`,
      idempotency: (key) => `${base}idem:${sessionId}:${key}`,
      tombstone: `${base}gone:${sessionId}`
    }
  }
  return { shardOf: (sessionId) => shardOf(sessionId, settings.shardCount), shard, session }
}
