/**
 * Lua script loader and codecs. Each `lua/<name>-<keys>.lua` file is registered with ioredis
 * `defineCommand` (EVAL once per connection, then EVALSHA, NOSCRIPT handled by ioredis), and each
 * script's KEYS/ARGV encoding and reply decoding lives here, next to the others.
 */
import { readdirSync, readFileSync } from "node:fs"
import type { Cluster, Redis } from "ioredis"
import { Schema } from "effect"
import type { CommitOutcome, IdempotencyRecord, Loaded, NewEvent } from "./EventStore.ts"
import type { SessionKeys } from "./keys.ts"
import { decodeStreamEntries, type RawStreamEntry } from "./streamEntries.ts"

export type RedisConnection = Redis | Cluster

const luaDirectory = new URL("./lua/", import.meta.url)
const scriptFileName = /^(?<name>[A-Za-z][A-Za-z0-9]*)-(?<keys>\d+)\.lua$/

const readLuaScripts = () =>
  readdirSync(luaDirectory)
    .filter((file) => file.endsWith(".lua"))
    .map((file) => {
      const match = scriptFileName.exec(file)?.groups
      if (match?.name === undefined || match.keys === undefined) {
        throw new Error(`Lua script file name must be <name>-<numberOfKeys>.lua: ${file}`)
      }
      return { name: match.name, numberOfKeys: Number(match.keys), lua: readFileSync(new URL(file, luaDirectory), "utf8") }
    })

let luaScripts: ReturnType<typeof readLuaScripts> | undefined

export const registerScripts = (connection: RedisConnection): void => {
  luaScripts ??= readLuaScripts()
  for (const { name, numberOfKeys, lua } of luaScripts) {
    connection.defineCommand(name, { lua, numberOfKeys })
  }
}

/** A registered script: how to encode its input into KEYS/ARGV and decode its reply. */
export interface Script<I, O> {
  readonly name: string
  readonly keys: (input: I) => ReadonlyArray<string>
  readonly args: (input: I) => ReadonlyArray<string>
  /** Throws on a reply of an unexpected shape: that is a bug, not an outage. */
  readonly decode: (reply: unknown) => O
}

type ScriptCommands = Record<string, (...keysAndArgs: ReadonlyArray<string>) => Promise<unknown>>

export const invokeScript = <I, O>(connection: RedisConnection, script: Script<I, O>, input: I): Promise<unknown> => {
  const command = (connection as unknown as ScriptCommands)[script.name]
  if (command === undefined) throw new Error(`Lua script ${script.name} is not registered`)
  return command.call(connection, ...script.keys(input), ...script.args(input))
}

const NullableString = Schema.NullOr(Schema.String)

// f, e and b are always written together by commit-7.
const toIdempotencyRecord = (
  fingerprint: string | null,
  lastEventId: string | null,
  body: string | null
): IdempotencyRecord | null => fingerprint === null ? null : { fingerprint, lastEventId: lastEventId ?? "", body: body ?? "" }

export interface LoadInput {
  readonly keys: SessionKeys
  readonly idempotencyKey: string | undefined
}

const decodeLoadReply = Schema.decodeUnknownSync(
  Schema.Tuple([
    NullableString,
    NullableString,
    NullableString,
    Schema.Number,
    NullableString,
    NullableString,
    NullableString,
    NullableString
  ])
)

export const loadScript: Script<LoadInput, Loaded> = {
  name: "load",
  keys: ({ keys, idempotencyKey }) => [keys.snapshot, keys.idempotency(idempotencyKey ?? ""), keys.tombstone],
  args: ({ idempotencyKey }) => [idempotencyKey === undefined ? "0" : "1"],
  decode: (reply) => {
    const [state, version, lastEventId, serverTimeMs, fingerprint, idemEventId, body, tombstone] = decodeLoadReply(reply)
    return {
      state,
      version: version === null ? 0 : Number(version),
      lastEventId,
      serverTimeMs,
      idempotent: toIdempotencyRecord(fingerprint, idemEventId, body),
      deleted: state === null && tombstone !== null
    }
  }
}

export interface CommitInput {
  readonly keys: SessionKeys
  readonly expectedVersion: number
  readonly events: ReadonlyArray<NewEvent>
  /** null deletes the snapshot. */
  readonly state: string | null
  /** Applied to the snapshot and the session index. */
  readonly ttlSeconds: number
  /** null removes the session from the deadline set. */
  readonly deadlineMs: number | null
  readonly idempotency: {
    readonly key: string
    readonly fingerprint: string
    readonly body: string
    readonly ttlSeconds: number
  } | null
  /** The session index keeps the events of this last span, ms. */
  readonly resumeWindowMs: number
  readonly shardLogMaxLen: number
  readonly expectedLastEventId: string | undefined
  readonly decidedAtMs: number | undefined
}

const decodeCommitReply = Schema.decodeUnknownSync(
  Schema.Union([
    Schema.Tuple([Schema.Literal("replayed"), Schema.String, Schema.String, Schema.String]),
    Schema.Tuple([Schema.Literal("conflict"), Schema.Number]),
    Schema.Tuple([Schema.Literal("stale")]),
    Schema.TupleWithRest(Schema.Tuple([Schema.Literal("committed"), Schema.Number]), [Schema.String])
  ])
)

export const commitScript: Script<CommitInput, CommitOutcome> = {
  name: "commit",
  keys: ({ keys, idempotency }) => [
    keys.snapshot,
    keys.index,
    keys.log,
    keys.deadlines,
    keys.idempotency(idempotency?.key ?? ""),
    keys.feed,
    keys.tombstone
  ],
  args: (input) => {
    const args = [
      String(input.expectedVersion),
      input.keys.sessionId,
      input.state === null ? "0" : "1",
      input.state ?? "",
      String(input.ttlSeconds),
      input.deadlineMs === null ? "" : String(input.deadlineMs),
      input.idempotency === null ? "0" : "1",
      input.idempotency?.fingerprint ?? "",
      input.idempotency?.body ?? "",
      String(input.idempotency?.ttlSeconds ?? 0),
      String(input.resumeWindowMs),
      String(input.shardLogMaxLen),
      input.expectedLastEventId ?? "",
      input.decidedAtMs === undefined ? "" : String(input.decidedAtMs),
      String(input.events.length)
    ]
    for (const event of input.events) args.push(String(event.version), event.type, String(event.at), event.payload)
    return args
  },
  decode: (reply) => {
    const decoded = decodeCommitReply(reply)
    switch (decoded[0]) {
      case "replayed":
        return { _tag: "Replayed", record: { fingerprint: decoded[1], lastEventId: decoded[2], body: decoded[3] } }
      case "conflict":
        return { _tag: "Conflict", currentVersion: decoded[1] }
      case "stale":
        return { _tag: "Stale" }
      case "committed": {
        const [, version, ...eventIds] = decoded
        return { _tag: "Committed", version, eventIds }
      }
    }
  }
}

export interface EventsInput {
  readonly keys: SessionKeys
  /** Oldest first after `afterVersion` (exclusive), or newest first. */
  readonly order: { readonly _tag: "asc"; readonly afterVersion: number | undefined } | { readonly _tag: "desc" }
  /** All when undefined. */
  readonly count: number | undefined
}

export const eventsScript: Script<EventsInput, ReadonlyArray<RawStreamEntry>> = {
  name: "events",
  keys: ({ keys }) => [keys.index, keys.log],
  args: ({ count, order }) => [
    order._tag,
    order._tag === "asc" && order.afterVersion !== undefined ? `(${order.afterVersion}` : "-inf",
    count === undefined ? "" : String(count)
  ],
  decode: decodeStreamEntries
}

export const forgetScript: Script<SessionKeys, boolean> = {
  name: "forget",
  keys: (keys) => [keys.deadlines, keys.snapshot],
  args: (keys) => [keys.sessionId],
  decode: (reply) => Schema.decodeUnknownSync(Schema.Number)(reply) === 1
}
