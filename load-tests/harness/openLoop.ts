import type { Dispatcher } from "undici"
import { type OnComplete, Recorder, type RecorderSnapshot, type RequestSource, send } from "./request.ts"

export interface OpenLoopOptions {
  readonly dispatcher: Dispatcher
  /** Requests per second, issued at fixed instants `start + n / rate`. */
  readonly ratePerSec: number
  readonly durationMs: number
  readonly source: RequestSource
  /** The dispatcher's connection count: a start with that many requests in flight had to queue. */
  readonly connections: number
  readonly onComplete?: OnComplete
  /** A request sent more than this after its scheduled instant counts as a late start. Default 1 ms. */
  readonly lateThresholdMs?: number
  /**
   * A request due within this many ms of a timer wake-up is sent at once rather than after one more
   * timer round, which Node's millisecond timers would make ~1 ms late. Default 0.5 ms. An early
   * request's latency is measured from its actual send, so this never flatters the numbers.
   */
  readonly leadMs?: number
}

export interface OpenLoopResult extends RecorderSnapshot {
  readonly model: "open"
  readonly scheduled: number
  /** From the first scheduled instant to the last answer. */
  readonly elapsedMs: number
  /** Answers per second over elapsedMs. */
  readonly throughput: number
  /** Requests sent more than lateThresholdMs after their scheduled instant (generator fell behind). */
  readonly lateStarts: number
  readonly lateThresholdMs: number
  readonly maxStartDelayMs: number
  /** Requests sent before their scheduled instant (by at most leadMs). */
  readonly earlyStarts: number
  /** Requests started while every connection of the pool was busy (they queued in the client). */
  readonly queuedStarts: number
  readonly peakInFlight: number
}

/**
 * Open-loop load at a fixed arrival rate, free of coordinated omission: the n-th request is due at
 * `t0 + n / rate` whatever happened to the earlier ones, and its latency is measured from that
 * scheduled instant, so a stall of the server (or of this generator) shows up in the percentiles
 * instead of silently lowering the offered load. A timer wakes the loop at the next due instant and
 * every request due by then (or within leadMs) is sent; nothing spins, which matters when the
 * generator shares two cores with the service and Redis. How late requests actually went out is reported (lateStarts),
 * as is whether the pool ran out of connections (queuedStarts).
 */
export const runOpenLoop = (options: OpenLoopOptions): Promise<OpenLoopResult> =>
  new Promise((resolve) => {
    const { dispatcher, source, onComplete, connections } = options
    const threshold = options.lateThresholdMs ?? 1
    const lead = options.leadMs ?? 0.5
    const recorder = new Recorder()
    const interval = 1000 / options.ratePerSec
    const total = Math.max(1, Math.round((options.durationMs * options.ratePerSec) / 1000))
    const t0 = performance.now() + 1
    let next = 0
    let inFlight = 0
    let peakInFlight = 0
    let finished = 0
    let lateStarts = 0
    let queuedStarts = 0
    let maxStartDelayMs = 0
    let earlyStarts = 0

    const complete = () => {
      inFlight--
      finished++
      if (finished === total) {
        const elapsedMs = performance.now() - t0
        resolve({
          model: "open",
          ...recorder.snapshot(),
          scheduled: total,
          elapsedMs,
          throughput: (recorder.count * 1000) / elapsedMs,
          lateStarts,
          lateThresholdMs: threshold,
          maxStartDelayMs: Math.round(maxStartDelayMs * 1000) / 1000,
          earlyStarts,
          queuedStarts,
          peakInFlight
        })
      }
    }

    const tick = () => {
      let now = performance.now()
      while (next < total) {
        const due = t0 + next * interval
        if (due > now + lead) break
        const delay = now - due
        if (delay > threshold) lateStarts++
        if (delay > maxStartDelayMs) maxStartDelayMs = delay
        if (delay < 0) earlyStarts++
        if (inFlight >= connections) queuedStarts++
        inFlight++
        if (inFlight > peakInFlight) peakInFlight = inFlight
        void send(dispatcher, source(next), next, delay < 0 ? now : due, recorder, onComplete).then(complete)
        next++
        now = performance.now()
      }
      if (next < total) setTimeout(tick, Math.max(0, t0 + next * interval - lead - now))
    }
    setTimeout(tick, 1)
  })
