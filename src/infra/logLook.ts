import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import { fieldsOf } from "./streamEntries.ts"
import type { ShardKeys } from "./keys.ts"
import type { RedisClient, RedisUnavailable } from "./RedisClient.ts"
import { compareStreamIds } from "./streamIds.ts"

/** What XINFO STREAM says of a shard log at one look. */
export interface LogLook {
  /** The shard's epoch (see ShardKeys.epoch): another value than at an earlier look means Redis lost its data in between. */
  readonly epoch: string
  /** Entries ever appended to the log: Redis counts them, and a log created again starts again from 0. */
  readonly entriesAdded: number
  /** The id of the last entry ever appended ("0-0" for a log that never had one). */
  readonly lastGeneratedId: string
  /** The oldest entry still in the log; null when it is empty or missing. */
  readonly firstId: string | null
  /** The newest entry still in the log; null when it is empty or missing. */
  readonly lastId: string | null
}

export const MISSING_LOG: Omit<LogLook, "epoch"> = { entriesAdded: 0, lastGeneratedId: "0-0", firstId: null, lastId: null }

/**
 * Whether the log is no longer the one of the earlier look: Redis lost it (FLUSHALL, a restart without
 * persistence, a failover to a replica that lacked the latest writes) and it was created again. The
 * shard's epoch key goes with the data; and a log that lives on only grows its history (a trim removes
 * entries, but neither their count nor the last id), which also tells a replica that lacked the
 * latest writes while it has fewer entries or an older last id.
 */
export const wasReset = (earlier: LogLook | undefined, now: LogLook): boolean =>
  earlier !== undefined &&
  (now.epoch !== earlier.epoch || now.entriesAdded < earlier.entriesAdded ||
    compareStreamIds(now.lastGeneratedId, earlier.lastGeneratedId) < 0)

/** Entries of a shard log that may have left Redis before a reader took them: after `after`, before `before` (null: up to the loss). */
export interface LogGap {
  readonly shard: number
  readonly after: string
  readonly before: string | null
}

/**
 * What a reader that had read up to `lastReadId` could not get back from a reset log: everything
 * after what it read and before the oldest entry of the new log that follows it. Nothing when it had
 * read nothing yet.
 */
export const gapAfterReset = (shard: number, lastReadId: string | null, now: LogLook): LogGap | null => {
  if (lastReadId === null || lastReadId === "0-0") return null
  const before = now.firstId !== null && compareStreamIds(now.firstId, lastReadId) > 0 ? now.firstId : null
  return { shard, after: lastReadId, before }
}

/**
 * Where a reader stands in a reset log: entries newer than what it read stay ahead of it; a log whose
 * tip is older than that (a replica that lacked the latest writes) is followed from its tip.
 */
export const resumeIdAfterReset = (lastReadId: string, now: LogLook): string => {
  const tip = now.lastId ?? "0-0"
  return compareStreamIds(tip, lastReadId) < 0 ? tip : lastReadId
}

const entryId = (entry: unknown): string | null => Array.isArray(entry) && typeof entry[0] === "string" ? entry[0] : null

/** XINFO STREAM of one shard's log, and its epoch (set to a new random value when missing). */
export const readLogLook = (redis: RedisClient["Service"], keys: ShardKeys): Effect.Effect<LogLook, RedisUnavailable> =>
  redis.use(async (c) => {
    const fresh = randomBytes(8).toString("hex")
    const [previous, info] = await Promise.all([
      c.set(keys.epoch, fresh, "NX", "GET"),
      c.xinfo("STREAM", keys.log).then(
        (reply) => {
          const fields = fieldsOf(Array.isArray(reply) ? reply : [])
          return {
            entriesAdded: Number(fields.get("entries-added") ?? 0),
            lastGeneratedId: String(fields.get("last-generated-id") ?? "0-0"),
            firstId: entryId(fields.get("first-entry")),
            lastId: entryId(fields.get("last-entry"))
          }
        },
        (error: unknown) => {
          if (String(error).includes("no such key")) return MISSING_LOG
          throw error
        }
      )
    ])
    return { epoch: previous ?? fresh, ...info }
  })
