/**
 * The live feed against a scripted server: states once and in version order, resynchronization on
 * gaps and bad frames, reconnect with `since` after a backoff, and the ends of a feed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { type ConnectionState, type SessionState, SyncKairos } from "../../client/src/index.ts"
import { SESSION, stateOf } from "./states.ts"

class FakeSocket {
  static readonly all: Array<FakeSocket> = []
  readyState = 0
  readonly sent: Array<Record<string, unknown>> = []
  onopen: (() => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number }) => void) | null = null
  onerror: (() => void) | null = null
  closedWith: number | undefined

  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  close(code?: number): void {
    this.closedWith = code
    this.readyState = 3
  }

  /** Server side: the upgrade succeeded. */
  open(): void {
    this.readyState = 1
    this.onopen?.()
  }

  frame(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) })
  }

  lose(code: number): void {
    this.readyState = 3
    this.onclose?.({ code })
  }

  get query(): URLSearchParams {
    return new URL(this.url).searchParams
  }

  sentOfType(type: string) {
    return this.sent.filter((m) => m["type"] === type)
  }
}

const id = (version: number) => `${1_000 + version}-0`
const state = (version: number): SessionState => stateOf("per_participant", { version, last_event_id: id(version) })
const sync = (version: number) => ({ type: "STATE_SYNC", sessionId: SESSION, state: state(version), version, last_event_id: id(version), resumed: false })
const update = (version: number) => ({
  type: "STATE_UPDATE",
  sessionId: SESSION,
  state: state(version),
  event: { id: id(version), type: "CYCLE_SWITCHED", version, at: new Date().toISOString(), at_ms: 0, payload: {} }
})
const resumed = (version: number) => ({ type: "RESUMED", version, last_event_id: id(version), since: id(1), replayed: 0 })

let client: SyncKairos
beforeEach(() => {
  vi.useFakeTimers()
  FakeSocket.all.length = 0
  client = new SyncKairos({ baseUrl: ["http://one.test", "http://two.test"], WebSocket: FakeSocket })
})
afterEach(() => {
  vi.useRealTimers()
})

const follow = () => {
  const versions: Array<number> = []
  const connections: Array<ConnectionState> = []
  const errors: Array<string> = []
  const deleted: Array<number> = []
  const feed = client.follow(SESSION, {
    onState: (s) => versions.push(s.version),
    onConnection: (c) => connections.push(c),
    onError: (e) => errors.push(e.code),
    onDeleted: (e) => deleted.push(e.version)
  }, { backoff: { initialMs: 100, maxMs: 400, jitter: 0 } })
  return { feed, versions, connections, errors, deleted }
}

/** Lets the feed's connect (it awaits the credential) reach the socket. */
const opened = async (n: number) => {
  await vi.advanceTimersByTimeAsync(0)
  const socket = FakeSocket.all[n]
  if (socket === undefined) throw new Error(`socket ${n} was not opened`)
  return socket
}

describe("follow", () => {
  it("hands on the first state, then each event once, in version order", async () => {
    const { feed, versions, connections } = follow()
    const socket = await opened(0)
    expect(socket.url).toBe(`ws://one.test/ws?sessionId=${SESSION}`)
    expect(feed.connection).toBe("connecting")
    socket.open()
    socket.frame({ type: "CONNECTED", sessionId: SESSION })
    socket.frame(sync(2))
    socket.frame(update(3))
    socket.frame(update(3))
    socket.frame(update(2))
    socket.frame(update(4))
    expect(versions).toEqual([2, 3, 4])
    expect(feed.state?.version).toBe(4)
    expect(connections).toEqual(["live"])
    feed.close()
    expect(socket.closedWith).toBe(1000)
  })

  it("asks to resume after a gap, and shows nothing past the gap until the missing events arrive", async () => {
    const { versions } = follow()
    const socket = await opened(0)
    socket.open()
    socket.frame(sync(2))
    socket.frame(update(4))
    socket.frame(update(5))
    expect(versions).toEqual([2])
    expect(socket.sentOfType("RESUME")).toEqual([{ type: "RESUME", since: id(2) }])
    socket.frame(update(3))
    socket.frame(update(4))
    socket.frame(update(5))
    socket.frame(resumed(5))
    socket.frame(update(6))
    expect(versions).toEqual([2, 3, 4, 5, 6])
  })

  it("resynchronizes instead of rendering a malformed frame or an update whose state is not its event's", async () => {
    const { versions } = follow()
    const socket = await opened(0)
    socket.open()
    socket.frame(sync(2))
    socket.frame("{not json")
    expect(socket.sentOfType("RESUME")).toHaveLength(1)
    socket.frame(resumed(2))
    socket.frame({ ...update(3), state: state(7) })
    socket.frame({ type: "STATE_UPDATE", event: { id: "x", version: 3 } })
    expect(versions).toEqual([2])
    expect(socket.sentOfType("RESUME")).toHaveLength(2)
    socket.frame(update(3))
    expect(versions).toEqual([2, 3])
  })

  it("asks for a fresh state when the server's replay ends past what it has", async () => {
    const { versions } = follow()
    const socket = await opened(0)
    socket.open()
    socket.frame(sync(2))
    socket.frame(resumed(4))
    expect(socket.sentOfType("RECONNECT")).toHaveLength(1)
    socket.frame(sync(4))
    expect(versions).toEqual([2, 4])
  })

  it("reconnects after a backoff to the next endpoint with since = the last event, without repeating events", async () => {
    const { feed, versions, connections } = follow()
    const first = await opened(0)
    first.open()
    first.frame(sync(2))
    first.frame(update(3))
    first.lose(1006)
    expect(feed.connection).toBe("reconnecting")
    await vi.advanceTimersByTimeAsync(99)
    expect(FakeSocket.all).toHaveLength(1)
    const second = await (async () => {
      await vi.advanceTimersByTimeAsync(1)
      return opened(1)
    })()
    expect(second.url.startsWith("ws://two.test/ws?")).toBe(true)
    expect(second.query.get("since")).toBe(id(3))
    second.open()
    second.frame({ type: "CONNECTED" })
    second.frame(update(3))
    second.frame(update(4))
    expect(feed.connection).toBe("reconnecting")
    second.frame(resumed(4))
    second.frame(update(5))
    expect(versions).toEqual([2, 3, 4, 5])
    expect(connections).toEqual(["live", "reconnecting", "live"])
  })

  it("keeps trying with growing delays while no instance answers", async () => {
    follow()
    ;(await opened(0)).lose(1006)
    await vi.advanceTimersByTimeAsync(100)
    ;(await opened(1)).lose(1006)
    await vi.advanceTimersByTimeAsync(199)
    expect(FakeSocket.all).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(FakeSocket.all).toHaveLength(3)
  })

  it("ends on a refusal, reporting the server's code, and does not reconnect", async () => {
    const { feed, errors, connections } = follow()
    const socket = await opened(0)
    socket.open()
    socket.frame({ type: "ERROR", code: "SESSION_NOT_FOUND", message: "no such session" })
    socket.lose(1008)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(errors).toEqual(["SESSION_NOT_FOUND"])
    expect(connections).toEqual(["closed"])
    expect(feed.connection).toBe("closed")
    expect(FakeSocket.all).toHaveLength(1)
  })

  it("reports a deleted session and stops", async () => {
    const { deleted, feed } = follow()
    const socket = await opened(0)
    socket.open()
    socket.frame(sync(2))
    socket.frame({ type: "SESSION_DELETED", sessionId: SESSION, event: { id: id(3), type: "SESSION_DELETED", version: 3 } })
    expect(deleted).toEqual([3])
    expect(feed.connection).toBe("closed")
    await vi.advanceTimersByTimeAsync(10_000)
    expect(FakeSocket.all).toHaveLength(1)
  })

  it("samples the server clock with a burst of PINGs, then one per interval, and drops a socket whose PONG does not come", async () => {
    follow()
    const socket = await opened(0)
    socket.open()
    socket.frame(sync(2))
    for (let i = 0; i < 5; i++) {
      const ping = socket.sentOfType("PING").at(-1)!
      socket.frame({ type: "PONG", client_time: ping["client_time"], server_time: (ping["client_time"] as number) + 60_000 })
    }
    expect(socket.sentOfType("PING")).toHaveLength(5)
    expect(client.clock.sampleCount).toBe(5)
    expect(Math.abs(client.clock.offsetMs - 60_000)).toBeLessThan(50)

    await vi.advanceTimersByTimeAsync(10_000)
    expect(socket.sentOfType("PING")).toHaveLength(6)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(socket.closedWith).toBe(4000)
    await vi.advanceTimersByTimeAsync(100)
    expect(FakeSocket.all).toHaveLength(2)
  })
})
