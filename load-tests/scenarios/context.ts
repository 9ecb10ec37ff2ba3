import type { SessionFixture } from "./sessions.ts"

/** What the HTTP scenarios get from the bench: the instance under test and the started sessions. */
export interface HttpContext {
  readonly origin: string
  readonly fixture: SessionFixture
}

/** A duration scaled by --duration-scale, never below 100 ms. */
export const scaledMs = (seconds: number, scale: number): number => Math.max(100, Math.round(seconds * 1000 * scale))
