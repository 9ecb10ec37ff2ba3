import type { Dispatcher } from "undici"
import { LatencyHistogram, type LatencySummary } from "./histogram.ts"

/** One HTTP request of a scenario. Build these once and reuse them: the generator must stay lean. */
export interface RequestSpec {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  readonly path: string
  readonly body?: string
  readonly headers?: Record<string, string>
}

/** Maps the n-th request of a run (0, 1, 2, …) to what to send. */
export type RequestSource = (seq: number) => RequestSpec

/** Called once per finished request, with its status (0 for a transport error). */
export type OnComplete = (seq: number, status: number) => void

export interface ErrorSample {
  readonly seq: number
  readonly status: number
  readonly path: string
  readonly detail: string
}

export interface RecorderSnapshot {
  readonly count: number
  readonly ok: number
  readonly errors: number
  /** Non-2xx answers by status code, transport failures as `net:<code>`. */
  readonly errorsByStatus: Record<string, number>
  readonly errorSamples: ReadonlyArray<ErrorSample>
  readonly latency: LatencySummary
}

const MAX_ERROR_SAMPLES = 10
const MAX_SAMPLE_CHARS = 500

/**
 * Counts outcomes and latencies of one run. Every finished request is recorded in the latency
 * histogram, errors included (as k6 does for http_req_duration); any non-2xx or transport failure
 * is an error, counted by status, and the first few are kept with their bodies for the report.
 */
export class Recorder {
  readonly histogram = new LatencyHistogram()
  count = 0
  ok = 0
  private readonly errorCounts = new Map<string, number>()
  private readonly samples: Array<ErrorSample> = []

  recordOk(latencyMs: number): void {
    this.count++
    this.ok++
    this.histogram.recordMs(latencyMs)
  }

  recordError(latencyMs: number, key: string, sample: ErrorSample | undefined): void {
    this.count++
    this.histogram.recordMs(latencyMs)
    this.errorCounts.set(key, (this.errorCounts.get(key) ?? 0) + 1)
    if (sample !== undefined && this.samples.length < MAX_ERROR_SAMPLES) this.samples.push(sample)
  }

  get wantsSamples(): boolean {
    return this.samples.length < MAX_ERROR_SAMPLES
  }

  snapshot(): RecorderSnapshot {
    return {
      count: this.count,
      ok: this.ok,
      errors: this.count - this.ok,
      errorsByStatus: Object.fromEntries([...this.errorCounts.entries()].sort()),
      errorSamples: [...this.samples],
      latency: this.histogram.summary()
    }
  }
}

const netCode = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code
  }
  return error instanceof Error ? error.name : "unknown"
}

/**
 * Sends one request and records it. `fromMs` is the instant latency is measured from
 * (`performance.now()` time base): the scheduled instant in an open loop, the send instant in a
 * closed one. The response body is read to its end (and discarded) before the clock stops, so the
 * latency is the time to the last byte, like k6's http_req_duration. Never rejects.
 */
export const send = async (
  dispatcher: Dispatcher,
  spec: RequestSpec,
  seq: number,
  fromMs: number,
  recorder: Recorder,
  onComplete: OnComplete | undefined
): Promise<void> => {
  let status = 0
  try {
    const response = await dispatcher.request({
      method: spec.method,
      path: spec.path,
      body: spec.body,
      headers: spec.headers
    })
    status = response.statusCode
    if (status >= 200 && status < 300) {
      await response.body.dump()
      recorder.recordOk(performance.now() - fromMs)
    } else {
      const text = recorder.wantsSamples ? await response.body.text() : (await response.body.dump(), "")
      const latency = performance.now() - fromMs
      recorder.recordError(latency, String(status), recorder.wantsSamples
        ? { seq, status, path: spec.path, detail: text.slice(0, MAX_SAMPLE_CHARS) }
        : undefined)
    }
  } catch (error) {
    const latency = performance.now() - fromMs
    recorder.recordError(latency, `net:${netCode(error)}`, recorder.wantsSamples
      ? { seq, status, path: spec.path, detail: String(error).slice(0, MAX_SAMPLE_CHARS) }
      : undefined)
    status = 0
  }
  onComplete?.(seq, status)
}
