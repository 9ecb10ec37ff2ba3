/** The heartbeat's pacing, on stand-in sockets and fake time. */
import { afterEach, beforeEach, expect, it, vi } from "vitest"
import type { WebSocket } from "ws"
import { startHeartbeat } from "../../src/app/ws/heartbeat.ts"

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] })
})
afterEach(() => {
  vi.useRealTimers()
})

const standIns = (n: number) => {
  const log: Array<{ at: number; socket: number; did: "ping" | "terminate" }> = []
  const sockets = new Set<WebSocket>()
  for (let socket = 0; socket < n; socket++) {
    const standIn = {
      ping: () => log.push({ at: performance.now(), socket, did: "ping" }),
      terminate: () => {
        log.push({ at: performance.now(), socket, did: "terminate" })
        sockets.delete(standIn as unknown as WebSocket)
      }
    }
    sockets.add(standIn as unknown as WebSocket)
  }
  return { sockets, log }
}

it("pings each socket once per interval, a slice per tick, and drops those that did not answer", () => {
  const { sockets, log } = standIns(1000)
  let dead = 0
  const heartbeat = startHeartbeat(sockets, 1000, () => dead++)
  vi.advanceTimersByTime(1000)
  const pings = log.filter((e) => e.did === "ping")
  expect(new Set(pings.map((e) => e.socket)).size).toBe(1000)
  expect(pings).toHaveLength(1000)
  // 100 ticks per interval: no tick pings more than a hundredth of the sockets.
  const perTick = new Map<number, number>()
  for (const ping of pings) perTick.set(ping.at, (perTick.get(ping.at) ?? 0) + 1)
  expect(Math.max(...perTick.values())).toBeLessThanOrEqual(10)

  // Every socket but the first answers; the next sweep drops only the first.
  for (const [i, socket] of [...sockets].entries()) if (i > 0) heartbeat.answered(socket)
  vi.advanceTimersByTime(1000)
  expect(log.filter((e) => e.did === "terminate").map((e) => e.socket)).toEqual([0])
  expect(dead).toBe(1)
  heartbeat.stop()
})

it("keeps to the interval with few sockets", () => {
  const { sockets, log } = standIns(2)
  const heartbeat = startHeartbeat(sockets, 1000, () => undefined)
  for (let i = 0; i < 5; i++) {
    vi.advanceTimersByTime(1000)
    for (const socket of sockets) heartbeat.answered(socket)
  }
  expect(log.filter((e) => e.did === "ping")).toHaveLength(10)
  expect(log.some((e) => e.did === "terminate")).toBe(false)
  heartbeat.stop()
})
