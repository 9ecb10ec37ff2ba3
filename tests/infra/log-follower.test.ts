/** The shard-log follower's transitions, as given inputs / when an input / then effects and state: no Redis. */
import { describe, expect, it } from "vitest"
import {
  type FollowerEffect,
  type FollowerInput,
  type FollowerState,
  initialState,
  type Logged,
  retryDelayMs,
  step
} from "../../src/infra/follow/logFollower.ts"
import type { LogLook } from "../../src/infra/logLook.ts"

const entry = (logId: string): Logged => ({ logId })
const entries = (...ids: Array<string>) => ids.map(entry)

/** A log that lives on: its history grows with its tip. */
const look = (tip: string | null, epoch = "e1"): LogLook => {
  const added = tip === null ? 0 : Number(tip.split("-")[0])
  return { epoch, entriesAdded: added, lastGeneratedId: tip ?? "0-0", firstId: tip === null ? null : "1-0", lastId: tip }
}

type Input = FollowerInput<Logged>
type Effect = FollowerEffect<Logged>

const message = (shard: number, previousId: string, ...ids: Array<string>): Input => ({ _tag: "Message", shard, previousId, entries: entries(...ids) })
const readDone = (shard: number, more: boolean, ...ids: Array<string>): Input => ({ _tag: "ReadDone", shard, entries: entries(...ids), more })
const malformed = (shard: number): Input => ({ _tag: "Malformed", shard })
const readFailed = (shard: number): Input => ({ _tag: "ReadFailed", shard })
const tick = (...looks: Array<LogLook>): Input => ({ _tag: "Tick", looks })
const resubscribed: Input = { _tag: "Resubscribed" }
const feedFailed: Input = { _tag: "FeedFailed" }
/** The first look: shard 0's log ends at 10-0, shard 1's at 20-0. */
const started = tick(look("10-0"), look("20-0"))

const deliver = (shard: number, ...ids: Array<string>): Array<Effect> => [
  { _tag: "Deliver", shard, entries: entries(...ids) },
  { _tag: "Count", stat: "delivered", by: ids.length }
]
const read = (shard: number, after: string, delayMs = 0): Effect => ({ _tag: "Read", shard, after, delayMs })
const catchUp = (shard: number, after: string): Array<Effect> => [{ _tag: "Count", stat: "catchUps", by: 1 }, read(shard, after)]
const reconnect: Effect = { _tag: "Reconnect" }

const run = (inputs: ReadonlyArray<Input>, state: FollowerState<Logged> = initialState(2)) =>
  inputs.reduce<{ state: FollowerState<Logged>; effects: ReadonlyArray<Effect> }>((at, input) => step(at.state, input), { state, effects: [] })

/** Each shard's phase, and where it is in its log. */
const where = (state: FollowerState<Logged>) => state.shards.map((f) => `${f.phase._tag} ${f.gate.last}`)

describe("the shard-log follower", () => {
  it.each<[string, ReadonlyArray<Input>, Input, ReadonlyArray<Effect>, ReadonlyArray<string>]>([
    // Starting: messages are held until the first look says where each log ends.
    ["initial tip: follows each log from its tip", [], started, [], ["Live 10-0", "Live 20-0"]],
    [
      "initial tip: held messages newer than the tip are delivered, older ones dropped",
      [message(0, "9-0", "10-0", "11-0"), message(0, "11-0", "12-0")],
      started,
      deliver(0, "11-0", "12-0"),
      ["Live 12-0", "Live 20-0"]
    ],
    ["initial tip: a resubscription before it reads nothing", [resubscribed], started, [], ["Live 10-0", "Live 20-0"]],
    ["initial tip: a message not understood before it makes the log read from the tip", [malformed(1)], started, catchUp(1, "20-0"), ["Live 10-0", "Reading 20-0"]],
    ["starting: messages are held", [], message(0, "0-0", "1-0"), [], ["Starting 0-0", "Starting 0-0"]],

    // Live.
    ["in order: a message that follows the last entry is delivered", [started], message(0, "10-0", "11-0", "12-0"), deliver(0, "11-0", "12-0"), ["Live 12-0", "Live 20-0"]],
    ["late duplicate: a message of entries already delivered is dropped", [started, message(0, "10-0", "11-0")], message(0, "9-0", "10-0", "11-0"), [], ["Live 11-0", "Live 20-0"]],
    ["an empty message changes nothing", [started], message(0, "3-0"), [], ["Live 10-0", "Live 20-0"]],
    ["gap: a newer message that does not follow is held and the log read", [started], message(0, "11-0", "12-0"), catchUp(0, "10-0"), ["Reading 10-0", "Live 20-0"]],
    ["malformed message: the log is read", [started], malformed(0), catchUp(0, "10-0"), ["Reading 10-0", "Live 20-0"]],
    ["reconnect: every log is read on", [started], resubscribed, [...catchUp(0, "10-0"), ...catchUp(1, "20-0")], ["Reading 10-0", "Reading 20-0"]],
    ["a dead feed connection is replaced", [started], feedFailed, [reconnect], ["Live 10-0", "Live 20-0"]],
    ["a read result nobody asked for is ignored", [started], readDone(0, false, "11-0"), [], ["Live 10-0", "Live 20-0"]],
    ["a read failure nobody asked for is ignored", [started], readFailed(0), [], ["Live 10-0", "Live 20-0"]],

    // Reading.
    ["gap -> read: what the read brings is delivered", [started, message(0, "11-0", "12-0")], readDone(0, true, "11-0"), [...deliver(0, "11-0"), read(0, "11-0")], ["Reading 11-0", "Live 20-0"]],
    [
      "gap -> read -> release held: the held messages newer than the read are delivered",
      [started, message(0, "11-0", "12-0"), message(0, "12-0", "13-0")],
      readDone(0, false, "11-0", "12-0"),
      [...deliver(0, "11-0", "12-0"), ...deliver(0, "13-0")],
      ["Live 13-0", "Live 20-0"]
    ],
    ["reading: messages are held, even those that follow", [started, malformed(0)], message(0, "10-0", "11-0"), [], ["Reading 10-0", "Live 20-0"]],
    ["reading: a late duplicate held is dropped on release", [started, malformed(0), message(0, "9-0", "10-0")], readDone(0, false), [], ["Live 10-0", "Live 20-0"]],
    ["read failure: retried after 50 ms", [started, malformed(0)], readFailed(0), [{ _tag: "Count", stat: "retries", by: 1 }, read(0, "10-0", 50)], ["Reading 10-0", "Live 20-0"]],
    [
      "read failure: backs off, at most a second",
      [started, malformed(0), ...Array.from({ length: 8 }, () => readFailed(0))],
      readFailed(0),
      [{ _tag: "Count", stat: "retries", by: 1 }, read(0, "10-0", 1000)],
      ["Reading 10-0", "Live 20-0"]
    ],
    [
      "read failure: a read that succeeds starts the backoff again",
      [started, malformed(0), readFailed(0), readFailed(0), readDone(0, true, "11-0")],
      readFailed(0),
      [{ _tag: "Count", stat: "retries", by: 1 }, read(0, "11-0", 50)],
      ["Reading 11-0", "Live 20-0"]
    ],
    ["reconnect while reading: nothing more now", [started, malformed(0)], resubscribed, catchUp(1, "20-0"), ["Reading 10-0", "Reading 20-0"]],
    [
      "reconnect while reading: read once more when this read is done",
      [started, malformed(0), resubscribed, message(0, "11-0", "12-0")],
      readDone(0, false, "11-0"),
      [...deliver(0, "11-0"), ...catchUp(0, "11-0")],
      ["Reading 11-0", "Reading 20-0"]
    ],
    [
      "reconnect while reading: then released",
      [started, malformed(0), resubscribed, message(0, "11-0", "12-0"), readDone(0, false, "11-0")],
      readDone(0, false),
      deliver(0, "12-0"),
      ["Live 12-0", "Reading 20-0"]
    ],
    ["a message not understood while reading: read once more", [started, malformed(0), malformed(0)], readDone(0, false), catchUp(0, "10-0"), ["Reading 10-0", "Live 20-0"]],

    // Ticks.
    ["a tick that finds the logs as delivered changes nothing", [started], tick(look("10-0"), look("20-0")), [], ["Live 10-0", "Live 20-0"]],
    ["a tick: an entry just appended is given a whole interval to arrive", [started], tick(look("11-0"), look("20-0")), [], ["Live 10-0", "Live 20-0"]],
    [
      "silent feed found by tick: an entry at the tip a whole interval ago never came",
      [started, tick(look("11-0"), look("21-0"))],
      tick(look("11-0"), look("21-0")),
      [...catchUp(0, "10-0"), ...catchUp(1, "20-0"), { _tag: "Count", stat: "silentFeeds", by: 1 }, reconnect],
      ["Reading 10-0", "Reading 20-0"]
    ],
    [
      "silent feed: not while reading the log anyway",
      [started, tick(look("11-0"), look("20-0")), malformed(0)],
      tick(look("11-0"), look("20-0")),
      [],
      ["Reading 10-0", "Live 20-0"]
    ],
    [
      "silent feed: not once the entry arrived",
      [started, tick(look("11-0"), look("20-0")), message(0, "10-0", "11-0")],
      tick(look("11-0"), look("20-0")),
      [],
      ["Live 11-0", "Live 20-0"]
    ],
    [
      "reset: a log created again is followed from where it meets what was read, and said",
      [started],
      tick(look("10-0", "e2"), look("20-0")),
      [...catchUp(0, "10-0"), { _tag: "Count", stat: "resets", by: 1 }, { _tag: "ReportReset", shards: new Set([0]) }],
      ["Reading 10-0", "Live 20-0"]
    ],
    [
      "reset: a log behind what was read is followed from its tip",
      [started],
      tick(look("10-0"), look("5-0")),
      [...catchUp(1, "5-0"), { _tag: "Count", stat: "resets", by: 1 }, { _tag: "ReportReset", shards: new Set([1]) }],
      ["Live 10-0", "Reading 5-0"]
    ],
    [
      "reset: an empty log is followed from its start, shards said in one report",
      [started],
      tick(look(null, "e2"), look(null, "e2")),
      [...catchUp(0, "0-0"), ...catchUp(1, "0-0"), { _tag: "Count", stat: "resets", by: 2 }, { _tag: "ReportReset", shards: new Set([0, 1]) }],
      ["Reading 0-0", "Reading 0-0"]
    ],
    [
      "reset while reading: read once more from where the logs meet",
      [started, malformed(1), tick(look("10-0"), look("5-0"))],
      readDone(1, false),
      catchUp(1, "5-0"),
      ["Live 10-0", "Reading 5-0"]
    ]
  ])("%s", (_, given, when, effects, after) => {
    const { state } = run(given)
    const next = step(state, when)
    expect(next.effects).toEqual(effects)
    expect(where(next.state)).toEqual(after)
  })

  it("delivers every entry once and in order whatever the messages and reads interleave", () => {
    // The log has 1-0 … 8-0; messages 4, 5 and 7 are lost; a reconnect comes mid-read.
    const delivered: Array<string> = []
    const inputs: ReadonlyArray<Input> = [
      message(0, "0-0", "1-0"),
      tick(look(null), look(null)),
      message(0, "0-0", "1-0"),
      message(0, "1-0", "2-0", "3-0"),
      message(0, "5-0", "6-0"),
      readDone(0, true, "4-0"),
      resubscribed,
      message(0, "6-0", "7-0"),
      readDone(0, false, "5-0", "6-0"),
      readFailed(0),
      readDone(0, false, "7-0"),
      message(0, "7-0", "8-0"),
      message(0, "6-0", "7-0")
    ]
    let state = initialState<Logged>(2)
    for (const input of inputs) {
      const next = step(state, input)
      state = next.state
      for (const effect of next.effects) if (effect._tag === "Deliver") delivered.push(...effect.entries.map((e) => e.logId))
    }
    expect(delivered).toEqual(["1-0", "2-0", "3-0", "4-0", "5-0", "6-0", "7-0", "8-0"])
    expect(where(state)).toEqual(["Live 8-0", "Reading 0-0"])
  })

  it.each([[1, 50], [2, 100], [3, 200], [5, 800], [6, 1000], [20, 1000]])("retries after %i failures in %i ms", (failures, ms) => {
    expect(retryDelayMs(failures)).toBe(ms)
  })
})
