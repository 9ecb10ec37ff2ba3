import { type LogLook, resumeIdAfterReset, wasReset } from "../logLook.ts"
import { compareStreamIds } from "../streamIds.ts"
import { catchUpGate, type Gate } from "./catchUpGate.ts"

/**
 * Following the shard logs, as a pure state machine: `step(state, input)` returns the next state and
 * the effects to run. The Redis code (ShardLogReader) feeds it what the feed connection, the log reads
 * and the periodic look at the logs bring, and only runs the effects.
 *
 * Per shard: a commit publishes the entries it appended with the id of the log entry before them. A
 * message that follows the last entry delivered is delivered as it is; any other newer message means
 * one was missed, and the log is read from the last entry delivered (in batches), holding messages
 * back meanwhile, then the held ones newer than what the read reached are delivered. The log stays the
 * record; the messages only spare a read per event.
 */

/** An entry of a shard log: all the follower needs to know of it is where it is in the log. */
export interface Logged {
  readonly logId: string
}

export type StatName = "delivered" | "catchUps" | "retries" | "silentFeeds" | "resets"

export type Phase =
  /** Holding messages until the log's tip is known (the first look). */
  | { readonly _tag: "Starting"; readonly again: boolean }
  /** Delivering messages that follow the last entry delivered. */
  | { readonly _tag: "Live" }
  /**
   * Reading the log after the last entry delivered, holding messages. `again`: read once more when
   * this read is done, as it may predate a resubscription or a message that was not understood.
   * `failures`: reads of this catch-up that failed in a row.
   */
  | { readonly _tag: "Reading"; readonly again: boolean; readonly failures: number }

export interface ShardFollower<E extends Logged> {
  readonly phase: Phase
  /** The last entry delivered, and the messages held while not live. */
  readonly gate: Gate<string, E>
  /** The log as the last look saw it; undefined before the first look. */
  readonly look: LogLook | undefined
}

export interface FollowerState<E extends Logged> {
  /** By shard. */
  readonly shards: ReadonlyArray<ShardFollower<E>>
}

export type FollowerInput<E extends Logged> =
  /** A commit's message on the shard's feed channel. */
  | { readonly _tag: "Message"; readonly shard: number; readonly previousId: string; readonly entries: ReadonlyArray<E> }
  /** Something on the feed channel that is not a commit's message: the log says what happened. */
  | { readonly _tag: "Malformed"; readonly shard: number }
  /** A read of the log asked for by a `Read` effect; `more` when it returned a full batch. */
  | { readonly _tag: "ReadDone"; readonly shard: number; readonly entries: ReadonlyArray<E>; readonly more: boolean }
  | { readonly _tag: "ReadFailed"; readonly shard: number }
  /** The feed connection (on a cluster, one node's) was subscribed again: what was published in between is in the logs. */
  | { readonly _tag: "Resubscribed" }
  /** The feed connection did not answer a ping, or could not subscribe again. */
  | { readonly _tag: "FeedFailed" }
  /** Each log as it stands now, by shard: the first one gives the tips to follow from. */
  | { readonly _tag: "Tick"; readonly looks: ReadonlyArray<LogLook> }

export type FollowerEffect<E extends Logged> =
  /** Entries to hand to the listeners, in log order, each once. */
  | { readonly _tag: "Deliver"; readonly shard: number; readonly entries: ReadonlyArray<E> }
  /** Read a batch of the shard's log after `after` (exclusive), `delayMs` from now; answer with ReadDone or ReadFailed. */
  | { readonly _tag: "Read"; readonly shard: number; readonly after: string; readonly delayMs: number }
  /** Replace the feed connections: they may be dead or quiet. */
  | { readonly _tag: "Reconnect" }
  /** These shards' logs were lost by Redis and created again. */
  | { readonly _tag: "ReportReset"; readonly shards: ReadonlySet<number> }
  | { readonly _tag: "Count"; readonly stat: StatName; readonly by: number }

export interface Step<E extends Logged> {
  readonly state: FollowerState<E>
  readonly effects: ReadonlyArray<FollowerEffect<E>>
}

/** Back off from 50 ms after a failed read, never waiting more than a second between tries. */
export const retryDelayMs = (failures: number): number => Math.min(50 * 2 ** (failures - 1), 1000)

const logIds = catchUpGate<string, Logged>({ keyOf: (entry) => entry.logId, compare: compareStreamIds })

const NO_ENTRY = "0-0"
const tipOf = (look: LogLook): string => look.lastId ?? NO_ENTRY

/** Every shard holds messages until the first look says where its log stands. */
export const initialState = <E extends Logged>(shardCount: number): FollowerState<E> => ({
  shards: Array.from({ length: shardCount }, () => ({
    phase: { _tag: "Starting", again: false },
    gate: logIds.holding<E>(NO_ENTRY),
    look: undefined
  }))
})

/** One shard's step: its next state and effects. */
interface ShardStep<E extends Logged> {
  readonly follower: ShardFollower<E>
  readonly effects: ReadonlyArray<FollowerEffect<E>>
}

const unchanged = <E extends Logged>(follower: ShardFollower<E>): ShardStep<E> => ({ follower, effects: [] })

const delivering = <E extends Logged>(shard: number, entries: ReadonlyArray<E>): Array<FollowerEffect<E>> =>
  entries.length === 0 ? [] : [{ _tag: "Deliver", shard, entries }, { _tag: "Count", stat: "delivered", by: entries.length }]

/** A catch-up starts: hold messages and read the log after the last entry delivered. */
const startReading = <E extends Logged>(shard: number, follower: ShardFollower<E>): ShardStep<E> => ({
  follower: { ...follower, phase: { _tag: "Reading", again: false, failures: 0 }, gate: logIds.hold(follower.gate) },
  effects: [{ _tag: "Count", stat: "catchUps", by: 1 }, { _tag: "Read", shard, after: follower.gate.last, delayMs: 0 }]
})

/** The log must be read from the last entry delivered: now when live, else once the read or start under way is done. */
const readOn = <E extends Logged>(shard: number, follower: ShardFollower<E>): ShardStep<E> =>
  follower.phase._tag === "Live"
    ? startReading(shard, follower)
    : unchanged({ ...follower, phase: { ...follower.phase, again: true } })

/** The log was read up to the end: deliver what was held and is newer, and follow the messages. */
const goLive = <E extends Logged>(shard: number, follower: ShardFollower<E>): ShardStep<E> => {
  const { gate, passed } = logIds.release(follower.gate, "live")
  return { follower: { ...follower, phase: { _tag: "Live" }, gate }, effects: delivering(shard, passed) }
}

const onMessage = <E extends Logged>(
  shard: number,
  follower: ShardFollower<E>,
  previousId: string,
  entries: ReadonlyArray<E>
): ShardStep<E> => {
  if (follower.phase._tag !== "Live") return unchanged({ ...follower, gate: logIds.offer(follower.gate, entries).gate })
  if (previousId === follower.gate.last) {
    const { gate, passed } = logIds.pass(follower.gate, entries)
    return { follower: { ...follower, gate }, effects: delivering(shard, passed) }
  }
  const newest = entries[entries.length - 1]?.logId ?? NO_ENTRY
  // A late message of entries already read from the log.
  if (compareStreamIds(newest, follower.gate.last) <= 0) return unchanged(follower)
  // A message was missed: hold this one and read what came before it.
  const reading = startReading(shard, follower)
  return { ...reading, follower: { ...reading.follower, gate: logIds.offer(reading.follower.gate, entries).gate } }
}

const onReadDone = <E extends Logged>(
  shard: number,
  follower: ShardFollower<E>,
  entries: ReadonlyArray<E>,
  more: boolean
): ShardStep<E> => {
  const { phase } = follower
  if (phase._tag !== "Reading") return unchanged(follower)
  const { gate, passed } = logIds.pass(follower.gate, entries)
  const read = delivering(shard, passed)
  const after: ShardFollower<E> = { ...follower, gate, phase: { ...phase, failures: 0 } }
  if (more) return { follower: after, effects: [...read, { _tag: "Read", shard, after: gate.last, delayMs: 0 }] }
  const next = phase.again ? startReading(shard, after) : goLive(shard, after)
  return { follower: next.follower, effects: [...read, ...next.effects] }
}

const onReadFailed = <E extends Logged>(shard: number, follower: ShardFollower<E>): ShardStep<E> => {
  const { phase } = follower
  if (phase._tag !== "Reading") return unchanged(follower)
  const failures = phase.failures + 1
  return {
    follower: { ...follower, phase: { ...phase, failures } },
    effects: [
      { _tag: "Count", stat: "retries", by: 1 },
      { _tag: "Read", shard, after: follower.gate.last, delayMs: retryDelayMs(failures) }
    ]
  }
}

/** The first look: follow the log from its tip; what the held messages bring after it is delivered. */
const onFirstLook = <E extends Logged>(shard: number, follower: ShardFollower<E>, again: boolean, look: LogLook): ShardStep<E> => {
  const started: ShardFollower<E> = { ...follower, look, gate: logIds.coveredTo(follower.gate, tipOf(look)) }
  return again ? startReading(shard, started) : goLive(shard, started)
}

/** What one shard makes of a look at its log, besides what the whole tick decides. */
interface ShardLook<E extends Logged> extends ShardStep<E> {
  readonly reset: boolean
  readonly silent: boolean
}

const onLook = <E extends Logged>(shard: number, follower: ShardFollower<E>, look: LogLook | undefined): ShardLook<E> => {
  const { phase } = follower
  if (look === undefined) return { ...unchanged(follower), reset: false, silent: false }
  if (phase._tag === "Starting") return { ...onFirstLook(shard, follower, phase.again, look), reset: false, silent: false }
  const earlier = follower.look
  const looked: ShardFollower<E> = { ...follower, look }
  if (wasReset(earlier, look)) {
    // Follow the new log from where it meets what was read.
    const moved = { ...looked, gate: logIds.coveredTo(looked.gate, resumeIdAfterReset(looked.gate.last, look)) }
    return { ...readOn(shard, moved), reset: true, silent: false }
  }
  // An entry at the tip a whole look ago that has still not arrived was missed.
  if (phase._tag === "Live" && earlier !== undefined && compareStreamIds(tipOf(earlier), follower.gate.last) > 0) {
    return { ...startReading(shard, looked), reset: false, silent: true }
  }
  return { ...unchanged(looked), reset: false, silent: false }
}

const onTick = <E extends Logged>(state: FollowerState<E>, looks: ReadonlyArray<LogLook>): Step<E> => {
  const steps = state.shards.map((follower, shard) => onLook(shard, follower, looks[shard]))
  const effects: Array<FollowerEffect<E>> = steps.flatMap((s) => s.effects)
  const reset = new Set(steps.flatMap((s, shard) => s.reset ? [shard] : []))
  if (reset.size > 0) effects.push({ _tag: "Count", stat: "resets", by: reset.size }, { _tag: "ReportReset", shards: reset })
  // The ping does not reach every connection that brings messages (on a cluster, each node's has its
  // own), and a connection may answer yet bring nothing: replace them.
  if (steps.some((s) => s.silent)) effects.push({ _tag: "Count", stat: "silentFeeds", by: 1 }, { _tag: "Reconnect" })
  return { state: { shards: steps.map((s) => s.follower) }, effects }
}

const onShard = <E extends Logged>(
  state: FollowerState<E>,
  shard: number,
  stepShard: (follower: ShardFollower<E>) => ShardStep<E>
): Step<E> => {
  const follower = state.shards[shard]
  if (follower === undefined) return { state, effects: [] }
  const next = stepShard(follower)
  return { state: { shards: state.shards.with(shard, next.follower) }, effects: next.effects }
}

export const step = <E extends Logged>(state: FollowerState<E>, input: FollowerInput<E>): Step<E> => {
  switch (input._tag) {
    case "Message":
      return onShard(state, input.shard, (f) => onMessage(input.shard, f, input.previousId, input.entries))
    case "Malformed":
      return onShard(state, input.shard, (f) => readOn(input.shard, f))
    case "ReadDone":
      return onShard(state, input.shard, (f) => onReadDone(input.shard, f, input.entries, input.more))
    case "ReadFailed":
      return onShard(state, input.shard, (f) => onReadFailed(input.shard, f))
    case "Resubscribed": {
      // Before the first look there is nothing to read on from: the tips are read once subscribed.
      const steps = state.shards.map((f, shard) => f.phase._tag === "Starting" ? unchanged(f) : readOn(shard, f))
      return { state: { shards: steps.map((s) => s.follower) }, effects: steps.flatMap((s) => s.effects) }
    }
    case "FeedFailed":
      return { state, effects: [{ _tag: "Reconnect" }] }
    case "Tick":
      return onTick(state, input.looks)
  }
}
