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

/** Midnight of 10000-01-01: from there on toISOString writes six-digit years. */
const FIVE_DIGIT_YEARS_MS = 253_402_300_800_000

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`)
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`)

/**
 * What `new Date(ms).toISOString()` writes, by integer arithmetic (the civil date of a day number,
 * H. Hinnant's algorithm): a frame carries seven instants, and the Date way took a fifth of the time
 * a live frame costs to render. Instants before 1970 or past year 9999 take the Date way.
 */
export const toIso = (ms: EpochMs | null): string | null => {
  if (ms === null) return null
  if (!(Number.isInteger(ms) && ms >= 0 && ms < FIVE_DIGIT_YEARS_MS)) return new Date(ms).toISOString()
  const days = Math.floor(ms / DAY)
  let rest = ms - days * DAY
  const millis = rest % 1000
  rest = (rest - millis) / 1000
  const seconds = rest % 60
  rest = (rest - seconds) / 60
  const minutes = rest % 60
  const hours = (rest - minutes) / 60
  // Days since 0000-03-01 split into 400-year eras, years of the era (from March) and days of the year.
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const dayOfEra = z - era * 146_097
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365)
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
  const year = era * 400 + yearOfEra + (month <= 2 ? 1 : 0)
  return `${String(year).padStart(4, "0")}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(millis)}Z`
}
