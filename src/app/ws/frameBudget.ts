/**
 * A token bucket for one socket's incoming frames: `perSecond` frames a second, in bursts of up to
 * `perSecond`. Local to the socket by nature, so it needs no shared store.
 */
export const makeFrameBudget = (perSecond: number, nowMs: () => number = performance.now.bind(performance)) => {
  let tokens = perSecond
  let last = nowMs()
  return {
    /** Whether one more frame fits; it is counted if so. */
    take: (): boolean => {
      const now = nowMs()
      tokens = Math.min(perSecond, tokens + ((now - last) * perSecond) / 1000)
      last = now
      if (tokens < 1) return false
      tokens -= 1
      return true
    }
  }
}
