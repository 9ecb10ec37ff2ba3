export interface BackoffOptions {
  readonly initialMs?: number
  readonly maxMs?: number
  /** 0..1: each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  readonly jitter?: number
  readonly random?: () => number
}

/**
 * Exponential backoff with jitter, as socket.io's Manager does it: the delay doubles from `initialMs`
 * up to `maxMs`, and a random spread keeps clients dropped by the same restart from all coming back
 * in the same millisecond.
 */
export class Backoff {
  private attempts = 0
  private readonly initialMs: number
  private readonly maxMs: number
  private readonly jitter: number
  private readonly random: () => number

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 250
    this.maxMs = options.maxMs ?? 5_000
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5))
    this.random = options.random ?? Math.random
  }

  /** The delay before the next attempt; each call counts one attempt. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempts)
    this.attempts++
    const factor = 1 + this.jitter * (2 * this.random() - 1)
    return Math.round(Math.min(this.maxMs, base * factor))
  }

  reset(): void {
    this.attempts = 0
  }
}
