import type { Dispatcher } from "undici"
import { type OnComplete, Recorder, type RecorderSnapshot, type RequestSource, send } from "./request.ts"

export interface ClosedLoopOptions {
  readonly dispatcher: Dispatcher
  /** Workers, each with one request in flight at a time; give the dispatcher as many connections. */
  readonly concurrency: number
  readonly durationMs: number
  readonly source: RequestSource
  readonly onComplete?: OnComplete
}

export interface ClosedLoopResult extends RecorderSnapshot {
  readonly model: "closed"
  readonly concurrency: number
  /** From the start to the last answer (requests in flight at the deadline are waited for). */
  readonly elapsedMs: number
  readonly throughput: number
}

/**
 * Closed-loop load at maximum rate: `concurrency` workers each send a request, wait for the whole
 * answer, and send the next, until the duration is up. This measures capacity (throughput) and the
 * latency at that saturation; the latency is from send to last byte. Request numbers come from one
 * shared counter, so consecutive requests (e.g. round-robin over sessions) spread over the workers.
 */
export const runClosedLoop = async (options: ClosedLoopOptions): Promise<ClosedLoopResult> => {
  const { dispatcher, source, onComplete } = options
  const recorder = new Recorder()
  let seq = 0
  const t0 = performance.now()
  const end = t0 + options.durationMs
  const worker = async () => {
    for (let now = performance.now(); now < end; now = performance.now()) {
      const s = seq++
      await send(dispatcher, source(s), s, now, recorder, onComplete)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  const elapsedMs = performance.now() - t0
  return {
    model: "closed",
    ...recorder.snapshot(),
    concurrency: options.concurrency,
    elapsedMs,
    throughput: (recorder.count * 1000) / elapsedMs
  }
}
