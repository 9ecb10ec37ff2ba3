import * as hdr from "hdr-histogram-js"

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  readonly count: number
  readonly min: number
  readonly mean: number
  readonly p50: number
  readonly p90: number
  readonly p95: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

const round3 = (x: number) => Math.round(x * 1000) / 1000

/**
 * An HDR histogram of latencies, recorded in microseconds (3 significant digits, so each recorded
 * value is exact to 0.1 %) and reported in milliseconds. The pure-JS build is used: no WebAssembly
 * start-up, and recording is a few array writes.
 */
export class LatencyHistogram {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000, // 120 s in µs; autoResize covers anything longer
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    useWebAssembly: false
  })

  /** Records one latency given in milliseconds (sub-millisecond precision kept). */
  recordMs(ms: number): void {
    this.h.recordValue(Math.max(1, Math.round(ms * 1000)))
  }

  get count(): number {
    return this.h.totalCount
  }

  /** Adds every value of `other` to this histogram (to pool runs). */
  add(other: LatencyHistogram): void {
    this.h.add(other.h)
  }

  summary(): LatencySummary {
    const h = this.h
    const at = (p: number) => (h.totalCount === 0 ? 0 : round3(h.getValueAtPercentile(p) / 1000))
    return {
      count: h.totalCount,
      min: h.totalCount === 0 ? 0 : round3(h.minNonZeroValue / 1000),
      mean: h.totalCount === 0 ? 0 : round3(h.mean / 1000),
      p50: at(50),
      p90: at(90),
      p95: at(95),
      p99: at(99),
      p999: at(99.9),
      max: h.totalCount === 0 ? 0 : round3(h.maxValue / 1000)
    }
  }
}
