/**
 * The one reader and writer of stored session states: Redis snapshots, shard-log and stream entries,
 * and `sessions.last_snapshot` in PostgreSQL. It writes the newest version of `snapshotSchema.ts` and
 * reads every version, checked against that version's Schema, so a snapshot that does not hold what
 * its version promises fails here, by name, instead of somewhere later as a TypeError.
 */
import { Result, Schema } from "effect"
import type { SessionState } from "../domain/index.ts"
import { fromSnapshotV1, fromSnapshotV2, fromSnapshotV3, SnapshotV1, SnapshotV2, SnapshotV3, toSnapshotV3 } from "./snapshotSchema.ts"

export class SnapshotUnreadable extends Schema.TaggedError<SnapshotUnreadable>()("SnapshotUnreadable", {
  /** The format version the snapshot claims (1 when it names none); null when the text is not JSON or `_v` not a number. */
  formatVersion: Schema.NullOr(Schema.Number),
  message: Schema.String
}) {}

export const encodeState = (state: SessionState): string => JSON.stringify(toSnapshotV3(state))

const decodeV1 = Schema.decodeUnknownResult(SnapshotV1)
const decodeV2 = Schema.decodeUnknownResult(SnapshotV2)
const decodeV3 = Schema.decodeUnknownResult(SnapshotV3)

/** Each version this service reads, decoded to today's state. */
const readers: ReadonlyMap<number, (input: unknown) => Result.Result<SessionState, Schema.SchemaError>> = new Map([
  [1, (input: unknown) => Result.map(decodeV1(input), fromSnapshotV1)],
  [2, (input: unknown) => Result.map(decodeV2(input), fromSnapshotV2)],
  [3, (input: unknown) => Result.map(decodeV3(input), fromSnapshotV3)]
])

/** Version 1 predates the field: a snapshot without `_v` is the plain JSON of the state. */
const formatVersionOf = (input: unknown): number | null => {
  if (typeof input !== "object" || input === null || !("_v" in input)) return 1
  return typeof input._v === "number" ? input._v : null
}

const unreadable = (formatVersion: number | null, why: string) =>
  new SnapshotUnreadable({ formatVersion, message: `snapshot (format version ${formatVersion ?? "unknown"}) unreadable: ${why}` })

/** Throws `SnapshotUnreadable` when the text is not a snapshot of a version this service reads. */
export const decodeState = (json: string): SessionState => {
  let input: unknown
  try {
    input = JSON.parse(json)
  } catch (error) {
    throw unreadable(null, `not JSON (${String(error)})`)
  }
  const formatVersion = formatVersionOf(input)
  const read = formatVersion === null ? undefined : readers.get(formatVersion)
  if (read === undefined) throw unreadable(formatVersion, `this service reads versions ${[...readers.keys()].join(", ")}`)
  const decoded = read(input)
  if (Result.isFailure(decoded)) throw unreadable(formatVersion, decoded.failure.message)
  return decoded.success
}
