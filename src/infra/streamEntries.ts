import { Schema } from "effect"

/**
 * The one reader of stream entries: the events of a session (from the shard log), the shard logs'
 * entries as commit-7 writes them (see its header for the fields), and the field/value lists of XINFO replies.
 */

/** The field/value pairs of a stream entry or an XINFO reply, as Redis lists them. */
export const fieldsOf = <V>(flat: ReadonlyArray<V>): Map<string, V> => {
  const fields = new Map<string, V>()
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1]!)
  return fields
}

/** One entry as XRANGE, XREAD and XREADGROUP return it: its id and its fields. */
const RawStreamEntry = Schema.Tuple([Schema.String, Schema.Array(Schema.String)])
export type RawStreamEntry = typeof RawStreamEntry.Type

// Replies of the stream commands and scripts whose shape ioredis leaves unknown. A reply of another
// shape is a bug, not an outage: decoding throws.

/** Entries as XRANGE returns them, as events-2 answers. */
export const decodeStreamEntries = Schema.decodeUnknownSync(Schema.Array(RawStreamEntry))

/** XREADGROUP of one stream: its entries; null when the block timed out with none. */
export const decodeReadGroupReply = Schema.decodeUnknownSync(
  Schema.NullOr(Schema.Array(Schema.Tuple([Schema.String, Schema.Array(RawStreamEntry)])))
)

/** XAUTOCLAIM: the next cursor, the entries claimed (null fields: deleted meanwhile), the ids deleted. */
export const decodeAutoClaimReply = Schema.decodeUnknownSync(
  Schema.Tuple([
    Schema.String,
    Schema.Array(Schema.Tuple([Schema.String, Schema.NullOr(Schema.Array(Schema.String))])),
    Schema.Array(Schema.String)
  ])
)

/** XINFO GROUPS and XINFO CONSUMERS: a field/value list per group or consumer. */
export const decodeInfoList = Schema.decodeUnknownSync(Schema.Array(Schema.Array(Schema.Unknown)))

/** XPENDING's summary: how many, the oldest and newest id (null when none), per consumer. */
export const decodePendingSummary = Schema.decodeUnknownSync(
  Schema.Tuple([Schema.Number, Schema.NullOr(Schema.String), Schema.NullOr(Schema.String), Schema.Unknown])
)

const isStrings = (value: unknown): value is ReadonlyArray<string> =>
  Array.isArray(value) && value.every((item) => typeof item === "string")

const isRawStreamEntry = (value: unknown): value is RawStreamEntry =>
  Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && isStrings(value[1])

/**
 * What commit-7 publishes on a shard's feed channel: the id of the entry before, and the entries
 * appended; throws on another shape. A plain check rather than a Schema: every instance reads every
 * message of every shard, and the Schema took more of a fan-out instance's time than anything but
 * the frames themselves.
 */
export const decodeFeedMessage = (text: string): readonly [string, ReadonlyArray<RawStreamEntry>] => {
  const message: unknown = JSON.parse(text)
  if (
    Array.isArray(message) && message.length === 2 && typeof message[0] === "string" &&
    Array.isArray(message[1]) && message[1].every(isRawStreamEntry)
  ) return [message[0], message[1]]
  throw new Error("not a feed message: [previous id, [[id, [field, value, …]], …]] expected")
}

/** One event of a session. */
export interface StoredEvent {
  readonly id: string
  readonly version: number
  readonly type: string
  readonly at: number
  readonly payload: string
}

/** One committed event as the shard log carries it: the event, not the state it led to. */
export interface LogEntry {
  /** Id of the entry in the shard log. */
  readonly logId: string
  readonly shard: number
  readonly sessionId: string
  readonly version: number
  readonly type: string
  readonly at: number
  readonly payload: string
  /**
   * Id of the event: what clients see and resume from. The log id, but for entries written by releases
   * whose session streams made their own ids, which named them in field `e`.
   */
  readonly eventId: string
  /**
   * Which session of this id: the id of its first event (a session id may be deleted and created
   * again); "" for sessions created before entries carried it.
   */
  readonly incarnation: string
  /** The session's next due instant (epoch ms) once its commit applied; null when none, or deleted. */
  readonly dueAt: number | null
}

const eventOf = (fields: Map<string, string>) => ({
  version: Number(fields.get("v")),
  type: fields.get("t") ?? "",
  at: Number(fields.get("at")),
  payload: fields.get("p") ?? ""
})

export const toStoredEvent = ([id, flat]: RawStreamEntry): StoredEvent => ({ id, ...eventOf(fieldsOf(flat)) })

export const toLogEntry = (shard: number, [logId, flat]: RawStreamEntry): LogEntry => {
  const fields = fieldsOf(flat)
  const due = fields.get("d") ?? ""
  return {
    logId,
    shard,
    sessionId: fields.get("sid") ?? "",
    ...eventOf(fields),
    eventId: fields.get("e") ?? logId,
    incarnation: fields.get("c") ?? "",
    dueAt: due === "" ? null : Number(due)
  }
}
