/** A local clock that never jumps: epoch-based, but driven by the monotonic performance.now(). */
export const monotonicNow = (): number => performance.timeOrigin + performance.now()

export interface ClockSample {
  /** Round trip, local ms. */
  readonly rttMs: number
  /** Server time minus local time. */
  readonly offsetMs: number
}

export interface ClockEstimatorOptions {
  /** How many recent samples are kept; old ones fall out, so the estimate follows a drifting clock. */
  readonly window?: number
  /** How many of the kept samples with the lowest round trips are averaged. */
  readonly best?: number
  readonly now?: () => number
}

/**
 * Server-clock offset, NTP style (Cristian's algorithm): each sample is a request sent at t0 and
 * answered with the server's time s, received at t1; it says offset = s - (t0 + t1) / 2, off by at most
 * half its round trip. Samples with the lowest round trips are the ones queueing delayed least, so
 * the estimate is the mean of the `best` lowest-round-trip samples among the last `window`.
 */
export class ClockEstimator {
  private readonly samples: Array<ClockSample> = []
  private readonly window: number
  private readonly best: number
  private offset = 0
  readonly now: () => number

  constructor(options: ClockEstimatorOptions = {}) {
    this.window = options.window ?? 12
    this.best = options.best ?? 3
    this.now = options.now ?? monotonicNow
  }

  /** Adds a sample: sent at local `sentAt`, answered with `serverTime`, received at local `receivedAt`. */
  add(sentAt: number, serverTime: number, receivedAt: number): void {
    const rttMs = receivedAt - sentAt
    if (!(rttMs >= 0) || !Number.isFinite(serverTime)) return
    this.samples.push({ rttMs, offsetMs: serverTime - (sentAt + receivedAt) / 2 })
    if (this.samples.length > this.window) this.samples.shift()
    const chosen = [...this.samples].sort((a, b) => a.rttMs - b.rttMs).slice(0, this.best)
    this.offset = chosen.reduce((sum, s) => sum + s.offsetMs, 0) / chosen.length
  }

  /** Milliseconds to add to local time for server time; 0 until the first sample. */
  get offsetMs(): number {
    return this.offset
  }

  get sampleCount(): number {
    return this.samples.length
  }

  /** The lowest round trip among the kept samples: the estimate is off by at most half of it. */
  get bestRttMs(): number | undefined {
    return this.samples.length === 0 ? undefined : Math.min(...this.samples.map((s) => s.rttMs))
  }

  /** Server time now, estimated: integer epoch ms, like every time the server sends. */
  serverNow(): number {
    return Math.round(this.now() + this.offset)
  }
}
