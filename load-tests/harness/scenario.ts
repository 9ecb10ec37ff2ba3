import type { ClosedLoopResult } from "./closedLoop.ts"
import type { OpenLoopResult } from "./openLoop.ts"
import type { RecorderSnapshot } from "./request.ts"

/** What a scenario offers the service, as recorded in the report. */
export type OfferedLoad =
  | {
    readonly model: "open"
    readonly ratePerSec: number
    readonly durationS: number
    readonly connections: number
    readonly requests: number
    readonly description: string
  }
  | {
    readonly model: "closed"
    readonly concurrency: number
    readonly durationS: number
    readonly description: string
  }

/** The statistics every scenario reports; open-loop ones add their schedule-keeping figures. */
export type RunStats = (RecorderSnapshot & { readonly model: string; readonly elapsedMs: number; readonly throughput: number })
  | OpenLoopResult
  | ClosedLoopResult

/**
 * One named load pattern. `offered` and `run` take the duration scale (1 = full length). A scenario
 * owns its connections; what it needs from the bench (the service's origin, the sessions created in
 * setup) comes in the context `C`.
 */
export interface Scenario<C> {
  readonly name: string
  readonly description: string
  readonly offered: (scale: number) => OfferedLoad
  readonly run: (context: C, scale: number) => Promise<RunStats>
}
