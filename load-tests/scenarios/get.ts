import type { RequestSpec } from "../harness/request.ts"
import { maxRateScenario } from "./maxRate.ts"

/** GET /v1/sessions/:id round-robin over the sessions, closed loop at maximum rate. */
export const getMax = () =>
  maxRateScenario({
    name: "get-max",
    description: "GET /v1/sessions/:id round-robin over the sessions, closed loop at maximum rate",
    source: (fixture) => (seq) => fixture.getRequests[seq % fixture.getRequests.length] as RequestSpec
  })
