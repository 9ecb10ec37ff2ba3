import { runClosedLoop } from "../harness/closedLoop.ts"
import { makePool } from "../harness/pool.ts"
import type { RequestSpec } from "../harness/request.ts"
import type { Scenario } from "../harness/scenario.ts"
import { type HttpContext, scaledMs } from "./context.ts"
import { MAX_RATE_CONNECTIONS, MAX_RATE_DURATION_S } from "./switch.ts"

/** GET /v1/sessions/:id round-robin over the sessions, closed loop at maximum rate. */
export const getMax = (
  concurrency = MAX_RATE_CONNECTIONS,
  durationS = MAX_RATE_DURATION_S
): Scenario<HttpContext> => ({
  name: "get-max",
  description: "GET /v1/sessions/:id round-robin over the sessions, closed loop at maximum rate",
  offered: (scale) => ({
    model: "closed",
    concurrency,
    durationS: scaledMs(durationS, scale) / 1000,
    description: `max rate, ${concurrency} connections, ${scaledMs(durationS, scale) / 1000}s`
  }),
  run: async ({ origin, fixture }, scale) => {
    const requests = fixture.getRequests
    const pool = makePool(origin, concurrency)
    try {
      return await runClosedLoop({
        dispatcher: pool,
        concurrency,
        durationMs: scaledMs(durationS, scale),
        source: (seq) => requests[seq % requests.length] as RequestSpec
      })
    } finally {
      await pool.close()
    }
  }
})
