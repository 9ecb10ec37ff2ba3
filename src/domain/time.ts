/** An instant: integer milliseconds since the Unix epoch, read from the server's time base. */
export type EpochMs = number
/** A duration in integer milliseconds. */
export type Millis = number

export const SECOND: Millis = 1_000
export const DAY: Millis = 86_400_000

/** Shortest and longest time any clock of a session may hold. */
export const MIN_CLOCK_MS: Millis = SECOND
export const MAX_CLOCK_MS: Millis = DAY

export const elapsedSince = (start: EpochMs | null, now: EpochMs): Millis =>
  start === null ? 0 : Math.max(0, now - start)

export const toIso = (ms: EpochMs | null): string | null => (ms === null ? null : new Date(ms).toISOString())
