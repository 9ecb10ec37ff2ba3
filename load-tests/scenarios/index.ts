import type { Scenario } from "../harness/scenario.ts"
import type { HttpContext } from "./context.ts"
import { getMax } from "./get.ts"
import { switchFixed, switchMax, switchMaxToken } from "./switch.ts"

/** The bench's scenarios, in run order. Add new ones here (and to docs/benchmarks.md). */
export const httpScenarios: ReadonlyArray<Scenario<HttpContext>> = [switchFixed(), switchMax(), getMax(), switchMaxToken()]

/** Scenarios that need the service run with access control (`--auth`); left out of the default selection otherwise. */
export const authOnlyScenarios: ReadonlyArray<string> = ["switch-max-token"]
