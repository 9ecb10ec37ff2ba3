import { Context, Effect, Latch, Layer, Semaphore } from "effect"
import { dueAtOf } from "../domain/index.ts"
import { DueIndex } from "../infra/DueIndex.ts"
import { ServerClock } from "../infra/ServerClock.ts"
import { ShardLogReader } from "../infra/ShardLogReader.ts"
import type { LogEntry } from "../infra/streamEntries.ts"
import { CommandHandler } from "./CommandHandler.ts"
import { DueQueue } from "./DueQueue.ts"

export interface SchedulerOptions {
  /** How far ahead the scheduler keeps deadlines in memory (default 60 s). */
  readonly horizonMs?: number
  /** How often it re-reads the deadline index, the safety net for anything the logs did not show (default 10 s). */
  readonly resyncMs?: number
  /** Sessions settled at once (default 256). */
  readonly concurrency?: number
}

export interface SchedulerStats {
  readonly tracked: number
  /** Settles that committed events. */
  readonly fired: number
  /** Settles that found nothing due: another scheduler or a command was first. */
  readonly idle: number
  readonly failed: number
}

const RETRY_AFTER_FAILURE_MS = 200

/**
 * Fires every warning and timeout on time, by itself. It learns each session's next due instant from
 * the shard logs as commits happen (each entry carries it) and, as a safety net, from
 * the deadline index every `resyncMs`; it sleeps until the earliest one, then settles the due sessions
 * through the same decide/commit path as a client's command. Several schedulers may race: the version
 * check lets exactly one commit, and the others find nothing due.
 */
export class Scheduler extends Context.Service<Scheduler, {
  readonly stats: Effect.Effect<SchedulerStats>
}>()("synckairos/app/Scheduler") {
  static layer(options: SchedulerOptions = {}): Layer.Layer<Scheduler, never, CommandHandler | ShardLogReader | DueIndex | ServerClock> {
    const horizonMs = options.horizonMs ?? 60_000
    const resyncMs = options.resyncMs ?? 10_000
    return Layer.effect(
      Scheduler,
      Effect.gen(function*() {
        const handler = yield* CommandHandler
        const reader = yield* ShardLogReader
        const index = yield* DueIndex
        const clock = yield* ServerClock
        const queue = new DueQueue()
        const inFlight = new Set<string>()
        const permits = yield* Semaphore.make(options.concurrency ?? 256)
        const wake = yield* Latch.make(false)
        const stats = { fired: 0, idle: 0, failed: 0 }
        // Settles in flight belong to the layer: closing it interrupts them.
        const scope = yield* Effect.scope

        const track = (sessionId: string, due: number | null, now: number) => {
          if (due === null || due > now + horizonMs) return queue.delete(sessionId)
          const earliest = queue.peek()
          queue.set(sessionId, due)
          if (earliest === undefined || due < earliest) wake.openUnsafe()
        }

        yield* reader.listen((entries: ReadonlyArray<LogEntry>) => {
          const now = clock.now()
          for (const entry of entries) track(entry.sessionId, entry.dueAt, now)
        })

        const resync = Effect.gen(function*() {
          const now = yield* clock.nowMs
          for (let shard = 0; shard < index.shardCount; shard++) {
            const due = yield* index.dueBy(shard, now + horizonMs, 10_000)
            for (const { sessionId, at } of due) queue.lower(sessionId, at)
          }
          wake.openUnsafe()
        }).pipe(Effect.catch((e) => Effect.logWarning("deadline resync failed", { error: e.message })))

        const settle = (sessionId: string) =>
          handler.execute(sessionId, { type: "SettleDue" }).pipe(
            Effect.flatMap(({ state, events }) =>
              Effect.flatMap(clock.nowMs, (now) =>
                Effect.sync(() => {
                  if (events.length > 0) stats.fired++
                  else stats.idle++
                  track(sessionId, state === null ? null : dueAtOf(state), now)
                })
              )
            ),
            Effect.catchTag("SessionNotFound", () => index.forget(sessionId)),
            Effect.catch((error) =>
              Effect.flatMap(clock.nowMs, (now) =>
                Effect.sync(() => {
                  stats.failed++
                  queue.lower(sessionId, now + RETRY_AFTER_FAILURE_MS)
                })
              ).pipe(Effect.tap(() => Effect.logWarning("settling a deadline failed", { sessionId, error: error.message })))
            ),
            Effect.ensuring(Effect.sync(() => inFlight.delete(sessionId))),
            permits.withPermit
          )

        const loop = Effect.gen(function*() {
          while (true) {
            yield* wake.close
            const now = yield* clock.nowMs
            for (const sessionId of queue.takeDue(now)) {
              if (inFlight.has(sessionId)) continue
              inFlight.add(sessionId)
              yield* Effect.forkIn(settle(sessionId), scope)
            }
            const next = queue.peek()
            const wait = next === undefined ? resyncMs : Math.max(1, next - now)
            yield* wake.await.pipe(Effect.timeoutOption(wait))
          }
        })

        yield* resync
        yield* Effect.forkScoped(Effect.forever(Effect.delay(resync, resyncMs)))
        yield* Effect.forkScoped(loop)
        return Scheduler.of({ stats: Effect.sync(() => ({ ...stats, tracked: queue.size })) })
      }).pipe(Effect.annotateLogs("component", "scheduler"))
    )
  }
}
