import { Schema } from "effect"
import { invokeScript, type RedisConnection, type Script } from "./scripts.ts"

/** A request's place in its counter's window: it is admitted when `current` is within the limit. */
export interface WindowCount {
  readonly current: number
  /** Milliseconds left in the window. */
  readonly ttl: number
}

/** Requests counted at once in the shared counter: the lease holds counter - size + 1 .. counter. */
export interface Lease {
  readonly counter: number
  readonly ttlMs: number
}

export type LeaseRequests = (key: string, size: number, windowMs: number) => Promise<Lease>

/**
 * A lease takes this share of a window's limit (at least one request): large limits cost one Redis
 * round trip per hundredth of the limit, and a limit of a few requests is counted one by one.
 */
const LEASE_SHARE = 100
export const leaseSizeOf = (limit: number): number => Math.max(1, Math.floor(limit / LEASE_SHARE))

/** Counts kept once their window is over are dropped when this many are kept. */
const SWEEP_AT = 10_000

/** What this instance knows of one counter's window. */
interface Window {
  /** Local time (`now`) by which the window has surely ended in Redis. */
  readonly endsAt: number
  /** The next request number of the lease to admit. */
  next: number
  /** The last request number leased: the shared counter when the lease was taken. */
  readonly last: number
}

interface Waiter {
  readonly max: number
  readonly resolve: (count: WindowCount) => void
  readonly reject: (error: unknown) => void
}

/**
 * Fixed-window rate limits shared by every instance through one counter per window in Redis, which an
 * instance asks only once per lease: it counts a share of the limit at once, then numbers its requests
 * from that share locally. The instances together never admit more than the limit in a window (every
 * admitted request was counted in Redis); a share an instance took but did not use before the window
 * ended is lost, so a client spread over n instances may be refused up to n shares early. Once a lease
 * shows the counter at the limit, the rest of the window is refused without asking Redis. Requests that
 * arrive while a lease is on its way wait for it, and the next lease takes at least as many as wait.
 */
export const makeRateLimitLeases = (lease: LeaseRequests, now: () => number = () => performance.now()) => {
  const windows = new Map<string, Window>()
  const waiting = new Map<string, Array<Waiter>>()
  let sweepAt = SWEEP_AT

  /** The count of one more request, or undefined when the window is over or its lease used up. */
  const countLocally = (key: string, max: number): WindowCount | undefined => {
    const window = windows.get(key)
    if (window === undefined) return undefined
    const ttl = window.endsAt - now()
    if (ttl <= 0) return undefined
    if (window.next <= Math.min(window.last, max)) return { current: window.next++, ttl }
    // Every request of this window up to the limit is leased, here or elsewhere.
    if (window.last >= max) return { current: max + 1, ttl }
    return undefined
  }

  const remember = (key: string, window: Window) => {
    windows.set(key, window)
    if (windows.size < sweepAt) return
    const t = now()
    for (const [k, w] of windows) if (w.endsAt <= t) windows.delete(k)
    sweepAt = Math.max(SWEEP_AT, 2 * windows.size)
  }

  const takeLease = (key: string, windowMs: number, queue: Array<Waiter>) => {
    const size = Math.max(leaseSizeOf(queue[0]!.max), queue.length)
    // The window ends in Redis `ttlMs` after the script ran, which is after the lease was asked for.
    const askedAt = now()
    lease(key, size, windowMs).then(
      ({ counter, ttlMs }) => {
        remember(key, { endsAt: askedAt + ttlMs, next: counter - size + 1, last: counter })
        while (queue.length > 0) {
          const count = countLocally(key, queue[0]!.max)
          if (count === undefined) break
          queue.shift()!.resolve(count)
        }
        if (queue.length === 0) waiting.delete(key)
        else takeLease(key, windowMs, queue)
      },
      (error: unknown) => {
        waiting.delete(key)
        for (const waiter of queue) waiter.reject(error)
      }
    )
  }

  /** Counts one request against `max` per window of `windowMs` under `key`. */
  const count = (key: string, windowMs: number, max: number): Promise<WindowCount> => {
    const queue = waiting.get(key)
    const local = queue === undefined ? countLocally(key, max) : undefined
    if (local !== undefined) return Promise.resolve(local)
    return new Promise((resolve, reject) => {
      if (queue !== undefined) return void queue.push({ max, resolve, reject })
      const started = [{ max, resolve, reject }]
      waiting.set(key, started)
      takeLease(key, windowMs, started)
    })
  }

  return { count }
}

export type RateLimitLeases = ReturnType<typeof makeRateLimitLeases>

interface LeaseInput {
  readonly key: string
  readonly size: number
  readonly windowMs: number
}

const decodeLeaseReply = Schema.decodeUnknownSync(Schema.Tuple([Schema.Number, Schema.Number]))

export const leaseRateLimitScript: Script<LeaseInput, Lease> = {
  name: "leaseRateLimit",
  keys: ({ key }) => [key],
  args: ({ size, windowMs }) => [String(windowMs), String(size)],
  decode: (reply) => {
    const [counter, ttlMs] = decodeLeaseReply(reply)
    return { counter, ttlMs }
  }
}

/** Leases from the counters of a Redis connection that has the project's scripts registered. */
export const leaseFromRedis = (connection: RedisConnection): LeaseRequests => (key, size, windowMs) =>
  invokeScript(connection, leaseRateLimitScript, { key, size, windowMs }).then(leaseRateLimitScript.decode)
