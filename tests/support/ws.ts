/** WebSocket clients of the live feed, for integration tests. */
import { type ClientOptions, WebSocket } from "ws"

// Frames are checked field by field in the tests; `any` keeps those reads short.
export type Frame = { readonly type: string } & Record<string, any>

export interface FeedClient {
  readonly socket: WebSocket
  /** Every frame received so far, in order. */
  readonly frames: Array<Frame>
  /** The first frame, from the start, that matches; waits for it up to `timeoutMs`. */
  readonly waitFor: (predicate: (frame: Frame) => boolean, timeoutMs?: number) => Promise<Frame>
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>
  readonly send: (message: unknown) => void
  readonly close: () => Promise<void>
}

export const feedUrl = (baseUrl: string, query: Record<string, string>): string =>
  `${baseUrl.replace(/^http/, "ws")}/ws?${new URLSearchParams(query)}`

export const ofType = (type: string) => (frame: Frame) => frame.type === type

/** Opens `/ws` with the query; resolves once the socket is open (or rejects when the upgrade fails). */
export const openFeed = (baseUrl: string, query: Record<string, string>, options: ClientOptions = {}): Promise<FeedClient> => {
  const socket = new WebSocket(feedUrl(baseUrl, query), options)
  const frames: Array<Frame> = []
  const waiters = new Set<() => void>()
  socket.on("message", (data, isBinary) => {
    // The feed speaks JSON in text frames only; a binary frame shows up as a frame of its own kind.
    frames.push(isBinary ? { type: "BINARY_FRAME" } : JSON.parse(String(data)) as Frame)
    for (const wake of waiters) wake()
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => {
      resolve({ code, reason: String(reason) })
      for (const wake of waiters) wake()
    }))

  const waitFor = (predicate: (frame: Frame) => boolean, timeoutMs = 5000) =>
    new Promise<Frame>((resolve, reject) => {
      const check = () => {
        const found = frames.find(predicate)
        if (found === undefined && socket.readyState !== WebSocket.CLOSED) return false
        clearTimeout(timer)
        waiters.delete(check)
        if (found === undefined) reject(new Error(`socket closed; frames: ${JSON.stringify(frames.map((f) => f.type))}`))
        else resolve(found)
        return true
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`no matching frame within ${timeoutMs} ms; frames: ${JSON.stringify(frames.map((f) => f.type))}`))
      }, timeoutMs)
      if (!check()) waiters.add(check)
    })

  const client: FeedClient = {
    socket,
    frames,
    waitFor,
    closed,
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    close: async () => {
      if (socket.readyState !== WebSocket.CLOSED) socket.close()
      await closed
    }
  }
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(client))
    socket.once("error", reject)
  })
}

/** What one client of a session observed over its whole life, reconnects included. */
export interface TrackedClient {
  /** Session versions of the events received, in arrival order (replayed ones included). */
  readonly versions: Array<number>
  /** The version of the STATE_SYNC it started from. */
  readonly baseVersion: () => number
  /** Close codes of the sockets it lost (not the one it closed itself). */
  readonly lostWith: Array<number>
  /** STATE_SYNC frames received: 1 unless a resume was refused. */
  readonly syncs: () => number
  readonly resumes: () => number
  readonly lastVersion: () => number
  readonly stop: () => Promise<void>
}

/**
 * A client that follows a session like a real one would: it starts on `first`, and whenever its
 * socket is lost it reconnects to another instance that `alive()` offers, with `since` = the last
 * event it has.
 */
export const trackSession = async (
  first: string,
  sessionId: string,
  alive: () => ReadonlyArray<string>
): Promise<TrackedClient> => {
  const versions: Array<number> = []
  const lostWith: Array<number> = []
  let baseVersion = 0
  let syncs = 0
  let resumes = 0
  let lastEventId: string | undefined
  let stopped = false
  let current: WebSocket | undefined

  const connect = (baseUrl: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(feedUrl(baseUrl, lastEventId === undefined ? { sessionId } : { sessionId, since: lastEventId }))
      current = socket
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data)) as Frame
        if (frame.type === "STATE_SYNC") {
          if (++syncs === 1) baseVersion = frame.version
          lastEventId = frame.last_event_id
        } else if (frame.type === "STATE_UPDATE") {
          versions.push(frame.event.version)
          lastEventId = frame.event.id
        } else if (frame.type === "RESUMED") resumes++
      })
      socket.once("open", () => resolve())
      // Before open: the upgrade failed. After: the close that follows says what happened.
      socket.on("error", reject)
      socket.once("close", (code) => {
        if (stopped || socket !== current) return
        lostWith.push(code)
        void reconnect(baseUrl)
      })
    })

  const reconnect = async (lost: string) => {
    for (let attempt = 0; !stopped; attempt++) {
      const others = alive().filter((url) => url !== lost)
      const target = others[attempt % Math.max(1, others.length)]
      if (target !== undefined && (await connect(target).then(() => true, () => false))) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  await connect(first)
  return {
    versions,
    baseVersion: () => baseVersion,
    lostWith,
    syncs: () => syncs,
    resumes: () => resumes,
    lastVersion: () => versions.at(-1) ?? baseVersion,
    stop: async () => {
      stopped = true
      if (current !== undefined && current.readyState !== WebSocket.CLOSED) {
        const closed = new Promise((resolve) => current!.once("close", resolve))
        current.close()
        await closed
      }
    }
  }
}
