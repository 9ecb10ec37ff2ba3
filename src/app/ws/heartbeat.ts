import type { WebSocket } from "ws"

/** Ticks per ping interval: each pings its share of the sockets, so no tick stalls the event loop for long. */
const TICKS_PER_INTERVAL = 100
const MIN_TICK_MS = 10

/**
 * Pings every socket once per `intervalMs` and terminates one that has not answered its previous ping
 * by then. Ten thousand pings in one go would hold the event loop (and every feed) for hundreds of ms,
 * so the sockets are visited a slice per tick; a sweep over all of them takes at most an interval, and
 * the next one starts an interval after it.
 */
export const startHeartbeat = (sockets: Set<WebSocket>, intervalMs: number, onDead: () => void) => {
  const unanswered = new WeakSet<WebSocket>()
  const tickMs = Math.max(MIN_TICK_MS, intervalMs / TICKS_PER_INTERVAL)
  // A Set's iterator is live: sockets that open during a sweep are reached in it, closed ones skipped.
  let sweep: Iterator<WebSocket> | undefined
  let sweepStartedAt = performance.now() - intervalMs
  const timer = setInterval(() => {
    if (sweep === undefined) {
      if (performance.now() - sweepStartedAt < intervalMs) return
      sweep = sockets.values()
      sweepStartedAt = performance.now()
    }
    for (let quota = Math.ceil((sockets.size * tickMs) / intervalMs); quota > 0; quota--) {
      const next = sweep.next()
      if (next.done === true) {
        sweep = undefined
        return
      }
      const socket = next.value
      if (unanswered.has(socket)) {
        onDead()
        socket.terminate()
      } else {
        unanswered.add(socket)
        socket.ping()
      }
    }
  }, tickMs)
  return {
    answered: (socket: WebSocket) => void unanswered.delete(socket),
    stop: () => clearInterval(timer)
  }
}
