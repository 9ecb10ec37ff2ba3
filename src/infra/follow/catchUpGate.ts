/**
 * The gate between an ordered source and a consumer that catches up from another source now and
 * then: the shard-log reader (items keyed by log id, catching up by reading the log) and a socket's
 * feed (keyed by version, catching up from the session's snapshot or stream). While the consumer
 * catches up the gate holds what arrives; once it is caught up to some key the gate lets through, in
 * arrival order, what is newer than that key and drops what the catch-up already covered. Nothing
 * passes twice and nothing passes out of order. Pure: every function returns a new gate.
 */

/** How the items (of type B, or any subtype) are ordered. */
export interface Order<K, B> {
  readonly keyOf: (item: B) => K
  readonly compare: (a: K, b: K) => number
}

/** Items held back, the latest batch first: holding costs no copy whatever the backlog. */
interface Held<T> {
  readonly items: ReadonlyArray<T>
  readonly earlier: Held<T> | null
}

export interface Gate<K, T> {
  /** The key of the last item let through, or the key a catch-up covered up to. */
  readonly last: K
  /** Whether items are held back: the consumer is catching up. */
  readonly holding: boolean
  readonly held: Held<T> | null
}

/** A gate after a step, and the items it let through, in order. */
export interface Passed<K, T> {
  readonly gate: Gate<K, T>
  readonly passed: ReadonlyArray<T>
}

const NONE: ReadonlyArray<never> = []

const inArrivalOrder = <T>(held: Held<T> | null): ReadonlyArray<T> => {
  const batches: Array<ReadonlyArray<T>> = []
  for (let batch = held; batch !== null; batch = batch.earlier) batches.push(batch.items)
  return batches.reverse().flat()
}

/** The gate's steps for one order. */
export const catchUpGate = <K, B>({ keyOf, compare }: Order<K, B>) => {
  /** Lets through the items newer than the last one, each newer than the one before it. */
  const pass = <T extends B>(gate: Gate<K, T>, items: ReadonlyArray<T>): Passed<K, T> => {
    let last = gate.last
    const passed: Array<T> = []
    for (const item of items) {
      const key = keyOf(item)
      if (compare(key, last) > 0) {
        passed.push(item)
        last = key
      }
    }
    return { gate: passed.length === 0 ? gate : { ...gate, last }, passed }
  }

  return {
    holding: <T extends B>(last: K): Gate<K, T> => ({ last, holding: true, held: null }),
    /** Holds from now on what arrives (a catch-up starts); what is already held stays held. */
    hold: <T extends B>(gate: Gate<K, T>): Gate<K, T> => gate.holding ? gate : { ...gate, holding: true },
    /** What arrived: let through what is newer while live, held while catching up. */
    offer: <T extends B>(gate: Gate<K, T>, items: ReadonlyArray<T>): Passed<K, T> =>
      gate.holding ? { gate: { ...gate, held: { items, earlier: gate.held } }, passed: NONE } : pass(gate, items),
    /** Items that come straight from the catch-up itself: newer than the last, in order. */
    pass,
    /** The catch-up covered everything up to `last` (which may be before the gate's last: a resume from further back). */
    coveredTo: <T extends B>(gate: Gate<K, T>, last: K): Gate<K, T> => ({ ...gate, last }),
    /**
     * The catch-up is done: lets through what was held and is newer than what it covered. The gate
     * is live afterwards, or holding again (with nothing held) for a catch-up queued behind this one.
     */
    release: <T extends B>(gate: Gate<K, T>, then: "live" | "holding"): Passed<K, T> => {
      const released = pass<T>({ last: gate.last, holding: false, held: null }, inArrivalOrder(gate.held))
      return { gate: { ...released.gate, holding: then === "holding" }, passed: released.passed }
    }
  }
}
