import { Deferred, Effect, Exit } from "effect"

export interface LingerBatcherOptions<A, E, R> {
  /** How long the first item of a batch waits for others to join it. */
  readonly lingerMs: number
  /** A batch this large is flushed at once, without waiting out the linger. */
  readonly maxSize: number
  readonly sizeOf: (item: A) => number
  readonly flush: (items: ReadonlyArray<A>) => Effect.Effect<void, E, R>
}

/**
 * Gathers what several producers submit within a linger into one batch, flushed once. The audit pays
 * a BullMQ job, a PostgreSQL transaction and a snapshot read per batch, whatever its size: every shard
 * log's reads joining one batch costs that once per linger instead of once per shard. The submitter
 * that opens a batch waits out the linger (or until the batch is full) and flushes it; every submitter
 * resumes once its items are flushed, with the flush's failure if it failed, so a producer has one
 * batch in flight at a time.
 */
export const makeLingerBatcher = <A, E, R>(options: LingerBatcherOptions<A, E, R>) => {
  interface Batch {
    readonly items: Array<A>
    size: number
    readonly flushed: Deferred.Deferred<void, E>
    readonly full: Deferred.Deferred<void>
  }
  let open: Batch | undefined

  const add = (batch: Batch, item: A) => {
    batch.items.push(item)
    batch.size += options.sizeOf(item)
    if (batch.size < options.maxSize) return
    // Full: later items open the next batch, and this one is flushed now.
    if (open === batch) open = undefined
    Deferred.doneUnsafe(batch.full, Exit.void)
  }

  const flushWhenDue = (batch: Batch) =>
    Effect.raceFirst(Effect.sleep(options.lingerMs), Deferred.await(batch.full)).pipe(
      Effect.andThen(Effect.suspend(() => {
        if (open === batch) open = undefined
        return Effect.exit(options.flush(batch.items))
      })),
      Effect.tap((exit) => Deferred.done(batch.flushed, exit)),
      Effect.flatten,
      // The submitters that joined must not wait for a flush that will never come.
      Effect.onInterrupt(() => Deferred.interrupt(batch.flushed))
    )

  const submit = (item: A): Effect.Effect<void, E, R> =>
    Effect.suspend(() => {
      const joined = open
      if (joined !== undefined) {
        add(joined, item)
        return Deferred.await(joined.flushed)
      }
      const batch: Batch = { items: [], size: 0, flushed: Deferred.makeUnsafe(), full: Deferred.makeUnsafe() }
      open = batch
      add(batch, item)
      return flushWhenDue(batch)
    })

  return { submit }
}
