import { Effect } from "effect"
import type { RedisClient, RedisUnavailable } from "../RedisClient.ts"
import { decodeInfoList, decodePendingSummary, fieldsOf } from "../streamEntries.ts"

/** Where a consumer group stands on one stream. */
export interface GroupInfo {
  /** The last entry delivered to any consumer of the group. */
  readonly lastDeliveredId: string
  /** Delivered, not yet acknowledged. */
  readonly pending: number
  /** The oldest of those; null when none is pending. */
  readonly oldestPendingId: string | null
  /** Entries not yet delivered; null when Redis cannot tell (entries were deleted past the group). */
  readonly undelivered: number | null
}

/** XINFO GROUPS and XPENDING of one group; null when the stream or the group does not exist. */
export const readGroupInfo = (
  redis: RedisClient["Service"],
  key: string,
  group: string
): Effect.Effect<GroupInfo | null, RedisUnavailable> =>
  Effect.gen(function*() {
    const groups = decodeInfoList(
      yield* redis.use((c) =>
        c.xinfo("GROUPS", key).catch((error: unknown) => {
          if (String(error).includes("no such key")) return []
          throw error
        })
      )
    )
    const fields = groups.map(fieldsOf).find((f) => f.get("name") === group)
    if (fields === undefined) return null
    const pending = Number(fields.get("pending"))
    const oldestPendingId = pending === 0
      ? null
      : decodePendingSummary(yield* redis.use((c) => c.xpending(key, group)))[1]
    const lag = fields.get("lag")
    return {
      lastDeliveredId: String(fields.get("last-delivered-id")),
      pending,
      oldestPendingId,
      undelivered: lag === null || lag === undefined ? null : Number(lag)
    }
  })
