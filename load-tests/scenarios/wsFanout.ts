/**
 * WebSocket fan-out across two instances: the mirror of load-tests/ws-fanout.js (the k6 script run
 * against deployed instances). Same setup (SESSIONS started per_participant sessions of two 24 h
 * participants, scenarios/sessions.ts), same sockets (SOCKETS_PER_SESSION per session, alternating
 * over the instances), same load (switches at a fixed rate, open loop, all sent to the first
 * instance), same measure (from sending a switch to receiving its STATE_UPDATE, on the sockets of
 * the other instance). Keep the two in step.
 */
import { WebSocket } from "ws"
import type { Dispatcher } from "undici"
import { LatencyHistogram, type LatencySummary } from "../harness/histogram.ts"
import { runOpenLoop, type OpenLoopResult } from "../harness/openLoop.ts"
import type { SessionFixture } from "./sessions.ts"

export const WS_SESSIONS = 1000
export const SOCKETS_PER_SESSION = 5
export const WS_RATE_PER_SEC = 500
export const WS_DURATION_S = 20
/** Far above rate × latency, so switches never queue for a connection. */
export const WS_SWITCH_CONNECTIONS = 128

/** Sends remembered per session: with a switch per session every few seconds, 64 cover minutes. */
const SENT_SLOTS = 64

/**
 * The versions each measured socket receives and how long after its switch was sent. The n-th
 * switch of a session produces version 2 + n (create and start were versions 1 and 2).
 */
export class Deliveries {
  histogram = new LatencyHistogram()
  /** The same deliveries split at the commit (the Redis time in the event id, ms): sending to commit. */
  toCommit = new LatencyHistogram()
  /** ... and commit to receipt on the socket. */
  afterCommit = new LatencyHistogram()
  missed = 0
  duplicates = 0
  private readonly sent: Uint32Array
  private readonly sentAt: Float64Array

  constructor(sessions: number) {
    this.sent = new Uint32Array(sessions)
    this.sentAt = new Float64Array(sessions * SENT_SLOTS)
  }

  /** Records the send of the next switch of `session`. */
  sending(session: number): void {
    const version = 2 + ++this.sent[session]!
    this.sentAt[session * SENT_SLOTS + (version % SENT_SLOTS)] = performance.now()
  }

  /** The version the session reaches once every switch sent so far is committed. */
  expectedVersion(session: number): number {
    return 2 + this.sent[session]!
  }

  received(session: number, version: number, measured: boolean, commitMs: number): void {
    if (!measured) return
    const now = performance.now()
    const sentAt = this.sentAt[session * SENT_SLOTS + (version % SENT_SLOTS)]!
    this.histogram.recordMs(now - sentAt)
    // Redis and this process read the same machine clock; the id's ms resolution blurs each part by 1 ms.
    this.toCommit.recordMs(Math.max(0, commitMs - (performance.timeOrigin + sentAt)))
    this.afterCommit.recordMs(Math.max(0, performance.timeOrigin + now - commitMs))
  }

  /** Starts a new run's latency record; version checks go on across runs. */
  reset(): void {
    this.histogram = new LatencyHistogram()
    this.toCommit = new LatencyHistogram()
    this.afterCommit = new LatencyHistogram()
  }
}

const STATE_UPDATE = Buffer.from('{"type":"STATE_UPDATE"')
// The bench's sessions carry no metadata, so `"event":` occurs once in a STATE_UPDATE: as its last key.
const EVENT_KEY = Buffer.from('"event":')

/** One client socket following one session; it checks that versions arrive once each, in order. */
export class Subscriber {
  lastVersion = 0
  private synced!: () => void
  readonly ready = new Promise<void>((resolve) => (this.synced = resolve))
  readonly socket: WebSocket

  constructor(
    origin: string,
    sessionId: string,
    readonly session: number,
    readonly measured: boolean,
    deliveries: Deliveries
  ) {
    this.socket = new WebSocket(`${origin.replace(/^http/, "ws")}/ws?sessionId=${sessionId}`, { perMessageDeflate: false })
    this.socket.on("message", (data: Buffer) => {
      if (STATE_UPDATE.compare(data, 0, STATE_UPDATE.length) === 0) {
        // Only the event, last in the frame, is parsed: the generator must stay lean with thousands of sockets.
        const { id, version } = JSON.parse(String(data.subarray(data.lastIndexOf(EVENT_KEY) + EVENT_KEY.length, -1))) as { id: string; version: number }
        if (version <= this.lastVersion) deliveries.duplicates++
        else deliveries.missed += version - this.lastVersion - 1
        this.lastVersion = Math.max(this.lastVersion, version)
        deliveries.received(session, version, measured, Number(id.slice(0, id.indexOf("-"))))
        return
      }
      const frame = JSON.parse(String(data)) as { type: string; version?: number }
      if (frame.type === "STATE_SYNC") {
        this.lastVersion = frame.version!
        this.synced()
      }
    })
    this.socket.on("error", () => {
      // Counted by the version checks: a lost socket misses events.
    })
  }
}

/**
 * Opens `SOCKETS_PER_SESSION` sockets per session, alternating between the instances; the sockets on
 * the second instance are the measured ones. Resolves once every socket has its STATE_SYNC.
 */
export const connectSubscribers = async (
  origins: readonly [string, string],
  fixture: SessionFixture,
  deliveries: Deliveries,
  perSession = SOCKETS_PER_SESSION
): Promise<Array<Subscriber>> => {
  const subscribers: Array<Subscriber> = []
  for (let session = 0; session < fixture.ids.length; session++) {
    for (let k = 0; k < perSession; k++) {
      const onSecond = (session * perSession + k) % 2 === 1
      subscribers.push(new Subscriber(origins[onSecond ? 1 : 0], fixture.ids[session]!, session, onSecond, deliveries))
    }
    // A few hundred handshakes at a time, so the connect storm does not time out.
    if (session % 40 === 39) await Promise.all(subscribers.slice(-40 * perSession).map((s) => s.ready))
  }
  await Promise.all(subscribers.map((s) => s.ready))
  return subscribers
}

/** More measured sockets on one instance, spread round-robin over the sessions. */
export const addSubscribers = async (
  origin: string,
  fixture: SessionFixture,
  deliveries: Deliveries,
  count: number
): Promise<Array<Subscriber>> => {
  const added: Array<Subscriber> = []
  for (let i = 0; i < count; i++) {
    added.push(new Subscriber(origin, fixture.ids[i % fixture.ids.length]!, i % fixture.ids.length, true, deliveries))
    if (i % 200 === 199) await Promise.all(added.slice(-200).map((s) => s.ready))
  }
  await Promise.all(added.map((s) => s.ready))
  return added
}

export interface FanoutRunStats {
  readonly delivery: LatencySummary
  readonly toCommit: LatencySummary
  readonly afterCommit: LatencySummary
  readonly switches: OpenLoopResult
  readonly missed: number
  readonly duplicates: number
  /** Sockets that had not received their session's last version a while after the last switch. */
  readonly behind: number
}

/**
 * Switches at `ratePerSec` (open loop) through `dispatcher` (the first instance), round-robin over the
 * sessions, then waits up to `settleMs` for every socket to reach its session's last version.
 */
export const runFanout = async (options: {
  readonly dispatcher: Dispatcher
  readonly fixture: SessionFixture
  readonly subscribers: ReadonlyArray<Subscriber>
  readonly deliveries: Deliveries
  readonly ratePerSec: number
  readonly durationMs: number
  readonly settleMs?: number
}): Promise<FanoutRunStats> => {
  const { fixture, deliveries, subscribers } = options
  deliveries.reset()
  const missedBefore = deliveries.missed
  const duplicatesBefore = deliveries.duplicates
  const switches = await runOpenLoop({
    dispatcher: options.dispatcher,
    ratePerSec: options.ratePerSec,
    durationMs: options.durationMs,
    connections: WS_SWITCH_CONNECTIONS,
    source: (seq) => {
      const session = seq % fixture.ids.length
      deliveries.sending(session)
      return fixture.switchRequests[session]!
    },
    onComplete: (seq, status) => {
      if (status >= 200 && status < 300) fixture.switchesOk[seq % fixture.switchesOk.length]!++
    }
  })
  const behind = () => subscribers.filter((s) => s.lastVersion < deliveries.expectedVersion(s.session)).length
  const deadline = performance.now() + (options.settleMs ?? 2000)
  while (behind() > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  return {
    delivery: deliveries.histogram.summary(),
    toCommit: deliveries.toCommit.summary(),
    afterCommit: deliveries.afterCommit.summary(),
    switches,
    missed: deliveries.missed - missedBefore,
    duplicates: deliveries.duplicates - duplicatesBefore,
    behind: behind()
  }
}

export const closeSubscribers = async (subscribers: ReadonlyArray<Subscriber>): Promise<void> => {
  await Promise.all(subscribers.map((s) =>
    new Promise<void>((resolve) => {
      if (s.socket.readyState === WebSocket.CLOSED) return resolve()
      s.socket.once("close", () => resolve())
      s.socket.close()
    })))
}
