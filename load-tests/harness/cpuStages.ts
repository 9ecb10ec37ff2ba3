/**
 * Where a service process spent its CPU, by stage of an event's path, from a V8 CPU profile
 * (`node --cpu-prof`). Each sample is given to the first stage, in the order below, that a frame of
 * its stack belongs to: a command's decision runs inside its HTTP request, so `decide` is looked for
 * before `HTTP`, and the shard-log reader folds events with the domain, so `fan-out` comes before
 * `decide`. What no stage claims is the runtime's own work (GC, timers, the event loop) or a Redis
 * client's reply parsing, which runs on the socket's data before any caller's frame. The system calls
 * that write to sockets are counted apart, whichever stage made them: they are the network's cost.
 * V8 samples on a wall-clock timer, so a thread descheduled inside a system call (the reader it woke
 * took its core, on a busy machine) is counted as in that call: the socket writes' share is an upper
 * bound, and /proc's CPU per event remains the measure.
 */
import { type CpuProfile, parentsOf, type ProfileNode, readCpuProfile, selfTimes } from "./cpuProfile.ts"

/** A stage and the frames that belong to it: parts of a script's URL, or a function name. */
const STAGES: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["writer (BullMQ worker, PostgreSQL)", ["/AuditWriter.js", "bullmq/dist/cjs/classes/worker", "/node_modules/pg/", "/node_modules/pg-", "slonik", "/AuditRepository.js", "/sessionRows.js"]],
  ["projector (log reads, snapshots, job)", ["/Projector.js", "/lingerBatcher.js", "/node_modules/bullmq/"]],
  ["fan-out (feed reader, sockets)", ["/ShardLogReader.js", "/follow/", "/ws/", "/node_modules/ws/", "@fastify/websocket"]],
  ["scheduler (deadlines)", ["/Scheduler.js", "/DueQueue.js", "/DueIndex.js"]],
  ["decide (domain)", ["/domain/"]],
  ["commit (Redis script)", ["/EventStore.js", "/scripts.js", "/RedisClient.js"]],
  ["command (handler, cache, codecs, Effect)", [
    "/CommandHandler.js",
    "/SnapshotCache.js",
    "/KeyedMutex.js",
    "/sessionCodec.js",
    "/snapshotCodec.js",
    "/snapshotSchema.js",
    "/outcomeCodec.js",
    "/ServerClock.js",
    "/keys.js"
  ]],
  ["HTTP (Fastify, auth, limits, views)", ["/node_modules/fastify/", "/node_modules/@fastify/", "/app/http/", "/app/auth/", "_http_", "/RateLimitLeases.js", "/find-my-way/"]],
  ["Redis client (reply parsing)", ["/node_modules/ioredis/", "/node_modules/redis-parser/", "/node_modules/@ioredis/"]],
  ["garbage collector", ["(garbage collector)"]]
]
const OTHER = "runtime and other"
/** The system calls that write to a socket, whoever calls them: the cost of the network, apart. */
const SOCKET_WRITES = "socket writes (system calls, any stage)"
const WRITE_CALLS = new Set(["writev", "writeUtf8String", "writeBuffer", "writeLatin1String", "writeAsciiString"])

const belongsTo = (frame: ProfileNode["callFrame"], markers: ReadonlyArray<string>) =>
  markers.some((marker) => frame.url.includes(marker) || frame.functionName === marker)

export interface StageShare {
  readonly stage: string
  readonly ms: number
  /** Share of the busy samples (idle excluded), %. */
  readonly pct: number
}

/** The monotonic clock as CPU profiles count it, µs: to name the window of a profile to look at. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n)

/** The busy CPU ms of the profile by stage within [fromUs, toUs] (monotonicUs), largest first. */
export const cpuByStage = (profilePath: string, window: { readonly fromUs: number; readonly toUs: number }): ReadonlyArray<StageShare> => {
  const profile: CpuProfile = readCpuProfile(profilePath)
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parentOf = parentsOf(profile)

  const stageOf = (id: number): string | null => {
    const frames: Array<ProfileNode["callFrame"]> = []
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) frames.push(byId.get(at)!.callFrame)
    const leaf = frames[0]!.functionName
    return leaf === "(idle)"
      ? null
      : WRITE_CALLS.has(leaf)
      ? SOCKET_WRITES
      : STAGES.find(([, markers]) => frames.some((frame) => belongsTo(frame, markers)))?.[0] ?? OTHER
  }

  const us = new Map<string, number>()
  for (const [id, micros] of selfTimes(profile, window)) {
    const stage = stageOf(id)
    if (stage !== null) us.set(stage, (us.get(stage) ?? 0) + micros)
  }
  const busy = [...us.values()].reduce((a, b) => a + b, 0)
  return [...us]
    .map(([stage, micros]) => ({ stage, ms: Math.round(micros / 1000), pct: Math.round((1000 * micros) / busy) / 10 }))
    .sort((a, b) => b.ms - a.ms)
}
