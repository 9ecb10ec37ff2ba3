/**
 * Random valid sessions (any mode, 1–6 participants, any timeout action) and random commands at random
 * instants, including steps far longer than the clocks so that timeouts pile up and instants that lag
 * behind the session (an instance with a slow clock). Shared by the domain's and the codec's properties.
 */
import fc from "fast-check"
import { Result } from "effect"
import {
  type Command,
  type CreateSessionInput,
  decide,
  evolve,
  type SessionEvent,
  type SessionState,
  SYNC_MODES,
  TIMEOUT_ACTIONS
} from "../../src/domain/index.ts"
import { SID, T0 } from "./decider.spec.ts"

const IDS = ["p0", "p1", "p2", "p3", "p4", "p5"] as const

const clockArb = fc.integer({ min: 1_000, max: 60_000 })

const inputArb: fc.Arbitrary<CreateSessionInput> = fc
  .integer({ min: 1, max: 6 })
  .chain((n) =>
    fc.record({
      syncMode: fc.constantFrom(...SYNC_MODES),
      explicitIndexes: fc.boolean(),
      indexes: fc.uniqueArray(fc.integer({ min: -5, max: 20 }), { minLength: n, maxLength: n }),
      totals: fc.array(fc.option(clockArb, { nil: undefined }), { minLength: n, maxLength: n }),
      groups: fc.array(fc.constantFrom("g0", "g1", "g2"), { minLength: n, maxLength: n }),
      totalTimeMs: clockArb,
      timePerCycleMs: clockArb,
      incrementMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5_000 })),
      // Mostly a short cap so that count_up reaches it; sometimes the 24 h default.
      maxTimeMs: fc.option(clockArb, { nil: undefined, freq: 6 }),
      actionOnTimeout: fc.option(fc.constantFrom(...TIMEOUT_ACTIONS), { nil: undefined }),
      autoAdvance: fc.boolean(),
      warnings: fc.uniqueArray(fc.integer({ min: 1, max: 30_000 }), { maxLength: 3 })
    })
  )
  .map((r): CreateSessionInput => {
    const mode = r.syncMode
    return {
      sessionId: SID,
      syncMode: mode,
      participants: r.indexes.map((index, i) => ({
        participantId: IDS[i] ?? "p?",
        participantIndex: r.explicitIndexes ? index : undefined,
        // Only per_participant runs on a participant's own bank; the others must ignore it.
        totalTimeMs: r.totals[i],
        groupId: r.groups[i]
      })),
      totalTimeMs: r.totalTimeMs,
      timePerCycleMs: mode === "per_cycle" ? r.timePerCycleMs : undefined,
      incrementMs: mode === "per_participant" || mode === "per_group" ? r.incrementMs : undefined,
      maxTimeMs: mode === "count_up" ? r.maxTimeMs : undefined,
      actionOnTimeout: r.actionOnTimeout,
      autoAdvance: mode === "per_cycle" ? r.autoAdvance : undefined,
      timeoutWarningsMs: r.warnings
    }
  })

const commandArb = (input: CreateSessionInput): fc.Arbitrary<Command> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant<Command>({ type: "StartSession" }) },
    {
      weight: 24,
      arbitrary: fc
        .option(fc.constantFrom(...IDS, "ghost"), { nil: undefined, freq: 2 })
        .map((nextParticipantId): Command => ({ type: "SwitchCycle", nextParticipantId }))
    },
    { weight: 4, arbitrary: fc.constant<Command>({ type: "PauseSession" }) },
    { weight: 5, arbitrary: fc.constant<Command>({ type: "ResumeSession" }) },
    { weight: 1, arbitrary: fc.constant<Command>({ type: "CompleteSession" }) },
    { weight: 1, arbitrary: fc.constant<Command>({ type: "CancelSession" }) },
    { weight: 1, arbitrary: fc.constant<Command>({ type: "DeleteSession" }) },
    { weight: 4, arbitrary: fc.constant<Command>({ type: "SettleDue" }) },
    { weight: 1, arbitrary: fc.constant<Command>({ type: "CreateSession", input }) }
  )

export interface Step {
  readonly command: Command
  /** How far the server clock moves before the command (never backwards). */
  readonly dt: number
  /** How far behind the server clock this command's `now` lags (a slow instance). */
  readonly lag: number
  /** An arbitrary instant, relative to the command, at which every clock is read as well. */
  readonly probe: number
}

const stepArb = (input: CreateSessionInput): fc.Arbitrary<Step> =>
  fc.record({
    command: commandArb(input),
    dt: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 3_000 }) },
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 400_000 }) }
    ),
    lag: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 30_000 }) }),
    probe: fc.integer({ min: -100_000, max: 500_000 })
  })

/** A valid create request and the steps that follow it. */
export interface Scenario {
  readonly input: CreateSessionInput
  readonly steps: ReadonlyArray<Step>
}

export const scenarioArb: fc.Arbitrary<Scenario> = inputArb.chain((input) =>
  fc.record({
    input: fc.constant(input),
    // Most sessions start right away; the rest begin with whatever command comes.
    start: fc.boolean(),
    steps: fc.array(stepArb(input), { minLength: 1, maxLength: 40, size: "max" })
  }).map(({ input, start, steps }) => ({
    input,
    steps: start ? [{ command: { type: "StartSession" } as Command, dt: 0, lag: 0, probe: 0 }, ...steps] : steps
  }))
)


/** Every event a scenario leads to, with the state before it; commands the domain refuses skipped. */
export const transitionsOf = ({ input, steps }: Scenario): Array<{ readonly before: SessionState | null; readonly event: SessionEvent }> => {
  const transitions: Array<{ readonly before: SessionState | null; readonly event: SessionEvent }> = []
  let state: SessionState | null = null
  let clock = T0
  for (const step of [{ command: { type: "CreateSession", input } as Command, dt: 0, lag: 0 }, ...steps]) {
    clock += step.dt
    const result = decide(state, step.command, SID, clock - step.lag)
    if (Result.isFailure(result)) continue
    for (const event of result.success) {
      transitions.push({ before: state, event })
      state = evolve(state, event)
    }
  }
  return transitions
}

/** Every state a scenario leads through. */
export const statesOf = (scenario: Scenario): Array<SessionState> =>
  transitionsOf(scenario).flatMap(({ before, event }) => {
    const after = evolve(before, event)
    return after === null ? [] : [after]
  })
