import { runClosedLoop } from "../harness/closedLoop.ts"
import { makePool } from "../harness/pool.ts"
import type { OnComplete, RequestSource } from "../harness/request.ts"
import type { Scenario } from "../harness/scenario.ts"
import { type HttpContext, scaledMs } from "./context.ts"
import type { SessionFixture } from "./sessions.ts"

export const MAX_RATE_CONNECTIONS = 50
export const MAX_RATE_DURATION_S = 10

/** A closed loop at maximum rate over the fixture's sessions: the shape of every max-rate scenario. */
export const maxRateScenario = (spec: {
  readonly name: string
  readonly description: string
  readonly source: (fixture: SessionFixture) => RequestSource
  readonly onComplete?: (fixture: SessionFixture) => OnComplete
  readonly concurrency?: number
  readonly durationS?: number
}): Scenario<HttpContext> => {
  const concurrency = spec.concurrency ?? MAX_RATE_CONNECTIONS
  const durationS = spec.durationS ?? MAX_RATE_DURATION_S
  return {
    name: spec.name,
    description: spec.description,
    offered: (scale) => ({
      model: "closed",
      concurrency,
      durationS: scaledMs(durationS, scale) / 1000,
      description: `max rate, ${concurrency} connections, ${scaledMs(durationS, scale) / 1000}s`
    }),
    run: async ({ origin, fixture }, scale) => {
      const pool = makePool(origin, concurrency)
      try {
        return await runClosedLoop({
          dispatcher: pool,
          concurrency,
          durationMs: scaledMs(durationS, scale),
          source: spec.source(fixture),
          ...(spec.onComplete === undefined ? {} : { onComplete: spec.onComplete(fixture) })
        })
      } finally {
        await pool.close()
      }
    }
  }
}
