/** Property tests: random valid sessions driven by random commands at random instants (see arbitraries.ts). */
import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  bankOf,
  type Command,
  countUpCap,
  type CreateSessionInput,
  decide,
  type DomainError,
  dueAtOf,
  eventFromStored,
  eventPayload,
  evolve,
  expiresAtOf,
  nextWarningOf,
  remainingOf,
  replay,
  type SessionEvent,
  type SessionState,
  settleDue,
  STATUSES,
  type Status,
  SYNC_MODES,
  TIMEOUT_ACTIONS,
  timeUsedOf
} from "../../src/domain/index.ts"
import { scenarioArb, type Step, transitionsOf } from "./arbitraries.ts"
import { SID, T0 } from "./decider.spec.ts"

/** 300 by default; raise it for a soak run: DOMAIN_PROPERTY_RUNS=20000 npx vitest run tests/domain/properties. */
const NUM_RUNS = Number(process.env["DOMAIN_PROPERTY_RUNS"] ?? 300)
/** The statuses in which each command (other than create and delete) is accepted. */
const ACCEPTS: Record<Exclude<Command["type"], "CreateSession" | "DeleteSession">, ReadonlyArray<Status>> = {
  StartSession: ["pending"],
  SwitchCycle: ["running"],
  PauseSession: ["running"],
  ResumeSession: ["paused"],
  CompleteSession: ["pending", "running", "paused"],
  CancelSession: ["pending", "running", "paused"],
  SettleDue: STATUSES
}

/** The event a command ends with when accepted (a late switch may end with the timeout's events). */
const LAST_EVENT: Record<Command["type"], ReadonlyArray<SessionEvent["type"]>> = {
  CreateSession: ["SESSION_CREATED"],
  StartSession: ["SESSION_STARTED"],
  // A late switch may be answered by the timeout alone, which can end with the next turn's warning.
  SwitchCycle: ["CYCLE_SWITCHED", "SESSION_EXPIRED", "TIMEOUT_WARNING"],
  PauseSession: ["SESSION_PAUSED"],
  ResumeSession: ["SESSION_RESUMED"],
  CompleteSession: ["SESSION_COMPLETED"],
  CancelSession: ["SESSION_CANCELLED"],
  DeleteSession: ["SESSION_DELETED"],
  SettleDue: ["TIMEOUT_WARNING", "TIME_EXPIRED", "CYCLE_SWITCHED", "SESSION_EXPIRED"]
}

const SETTLE_EVENTS: ReadonlyArray<SessionEvent["type"]> = ["TIMEOUT_WARNING", "TIME_EXPIRED", "CYCLE_SWITCHED", "SESSION_EXPIRED"]

const isNonNegativeInteger = (n: number): boolean => Number.isSafeInteger(n) && n >= 0

/** (a) and (e): every clock readable at `t` is a non-negative integer, and time is conserved. */
const checkClocks = (state: SessionState, t: number, earned: ReadonlyMap<string, number>): void => {
  const { config } = state
  const rows = state.participants.map((p) => ({
    p,
    remaining: remainingOf(state, p, t),
    bank: bankOf(state, p),
    used: timeUsedOf(state, p, t)
  }))
  for (const { p, remaining, bank, used } of rows) {
    const where = `${p.participantId} at ${t - T0}`
    expect(isNonNegativeInteger(remaining), `remaining ${remaining} ${where}`).toBe(true)
    expect(isNonNegativeInteger(bank), `bank ${bank} ${where}`).toBe(true)
    expect(isNonNegativeInteger(used), `used ${used} ${where}`).toBe(true)
    expect(isNonNegativeInteger(p.cycleCount)).toBe(true)
    expect(remaining).toBeLessThanOrEqual(bank)
    // Reading later never gives more time left, nor less time used.
    expect(remainingOf(state, p, t + 1_000)).toBeLessThanOrEqual(remaining)
    expect(timeUsedOf(state, p, t + 1_000)).toBeGreaterThanOrEqual(used)
  }
  const sumUsed = rows.reduce((sum, r) => sum + r.used, 0)
  switch (config.syncMode) {
    case "per_participant":
      for (const { p, remaining, used } of rows) {
        const spec = config.participants.find((q) => q.participantId === p.participantId)
        expect(remaining + used, `per_participant conservation for ${p.participantId}`).toBe(
          (spec?.totalTimeMs ?? Number.NaN) + (earned.get(p.participantId) ?? 0)
        )
      }
      break
    case "per_group": {
      const groups = new Set(rows.map((r) => r.p.groupId))
      for (const g of groups) {
        const members = rows.filter((r) => r.p.groupId === g)
        const earnedByGroup = members.reduce((sum, r) => sum + (earned.get(r.p.participantId) ?? 0), 0)
        // Members share one bank...
        expect(new Set(members.map((r) => r.remaining)).size).toBe(1)
        // ...and what the group used plus what it has left is what it started with plus increments.
        expect(members[0]!.remaining + members.reduce((sum, r) => sum + r.used, 0), `per_group conservation for ${g}`).toBe(
          config.totalTimeMs + earnedByGroup
        )
      }
      break
    }
    case "global":
    case "count_up": {
      expect(new Set(rows.map((r) => r.remaining)).size).toBe(1)
      const total = config.syncMode === "global" ? config.totalTimeMs : countUpCap(config)
      expect(rows[0]!.remaining + sumUsed, `${config.syncMode} conservation`).toBe(total)
      break
    }
    case "per_cycle": {
      const perCycle = config.timePerCycleMs ?? Number.NaN
      for (const { p, remaining, used } of rows) {
        expect(remaining).toBeLessThanOrEqual(perCycle)
        // Every turn uses at most one cycle's time: the completed ones plus the current or last one.
        expect(used).toBeLessThanOrEqual((p.cycleCount + 1) * perCycle)
      }
      break
    }
  }
}

/** Checks one event against the state it applies to (the decide-side rules) and applies it. */
const applyChecked = (before: SessionState | null, event: SessionEvent): SessionState | null => {
  if (before !== null && event.type === "TIME_EXPIRED") {
    // The timeout is stamped at the instant the running clock reached zero, and charges the active clock.
    expect(event.at).toBe(expiresAtOf(before))
    expect(event.participantId).toBe(before.activeParticipantId)
  }
  if (before !== null && event.type === "TIMEOUT_WARNING") {
    // A warning is stamped where the running clock crossed its threshold, once per threshold and turn.
    expect(event).toMatchObject({ at: nextWarningOf(before)?.at, thresholdMs: nextWarningOf(before)?.thresholdMs })
    expect(before.warnedMs).not.toContain(event.thresholdMs)
    const active = before.participants.find((p) => p.participantId === before.activeParticipantId)
    expect(active !== undefined && remainingOf(before, active, event.at)).toBe(event.thresholdMs)
  }
  if (before !== null && event.type === "CYCLE_SWITCHED") {
    expect(event.fromParticipantId).toBe(before.activeParticipantId)
    const from = before.participants.find((p) => p.participantId === event.fromParticipantId)
    const to = before.participants.find((p) => p.participantId === event.toParticipantId)
    expect(to?.hasExpired).toBe(false)
    // Fischer: the configured increment or nothing, and only for a turn that ended with time left.
    expect([0, before.config.incrementMs]).toContain(event.incrementMs)
    if (event.incrementMs > 0 && from !== undefined) expect(remainingOf(before, from, event.at)).toBeGreaterThan(0)
  }
  const after = evolve(before, event)
  // (b) versions step by one; a delete leaves nothing, a create starts at 1.
  if (event.type === "SESSION_DELETED") expect(after).toBeNull()
  else if (event.type === "SESSION_CREATED") expect(after?.version).toBe(1)
  else expect(after?.version).toBe((before?.version ?? Number.NaN) + 1)
  if (after !== null) expect(after.updatedAt).toBe(event.at)
  return after
}

/** A rejected command must have been wrong for the state (at the settled instant). */
const checkRejection = (state: SessionState | null, command: Command, error: DomainError, now: number): void => {
  if (state === null) {
    expect(error._tag).toBe("SessionNotFound")
    expect(command.type).not.toBe("CreateSession")
    return
  }
  if (command.type === "DeleteSession") throw new Error(`delete of an existing session refused: ${error._tag}`)
  if (command.type === "CreateSession") {
    expect(error._tag).toBe("SessionAlreadyExists")
    return
  }
  const settled = settleDue(state, Math.max(now, state.updatedAt)).state
  switch (error._tag) {
    case "InvalidTransition":
      expect(ACCEPTS[command.type]).not.toContain(error.status)
      expect([state.status, settled.status]).toContain(error.status)
      break
    case "InvalidCommand": {
      // Only a switch to a stranger or to an eliminated participant is an invalid command here.
      expect(command.type).toBe("SwitchCycle")
      const target = command.type === "SwitchCycle" ? command.nextParticipantId : undefined
      const participant = settled.participants.find((p) => p.participantId === target)
      expect(participant === undefined || participant.hasExpired).toBe(true)
      break
    }
    default:
      throw new Error(`unexpected ${error._tag}`)
  }
}

const runScenario = ({ input, steps }: { input: CreateSessionInput; steps: ReadonlyArray<Step> }): void => {
  const all: Array<SessionEvent> = []
  const earned = new Map<string, number>()
  let state: SessionState | null = null
  let clock = T0
  let sinceCreate = 0

  const commands: ReadonlyArray<Step> = [{ command: { type: "CreateSession", input }, dt: 0, lag: 0, probe: 0 }, ...steps]
  commands.forEach((step, i) => {
    clock += step.dt
    const now = clock - step.lag
    const snapshot = structuredClone(state)
    // (f) decide never throws: a throw fails the property with the scenario that caused it.
    const result = decide(state, step.command, SID, now)
    expect(state).toEqual(snapshot)
    if (i === 0) expect(Result.isSuccess(result), "a generated config is valid").toBe(true)

    if (Result.isFailure(result)) {
      // (d) a rejected command produces no events and leaves the state as it was.
      checkRejection(state, step.command, result.failure, now)
      return
    }
    const events = result.success
    const decidedAt = state === null ? now : Math.max(now, state.updatedAt)
    // Settling may find nothing due; every other accepted command records something.
    if (step.command.type !== "SettleDue") expect(events.length).toBeGreaterThan(0)
    if (events.length > 0) expect(LAST_EVENT[step.command.type]).toContain(events.at(-1)?.type)
    for (const event of events.slice(0, -1)) expect(SETTLE_EVENTS).toContain(event.type)
    if (state !== null && state.status !== "running") {
      expect(events.length).toBe(step.command.type === "SettleDue" ? 0 : 1)
    }

    for (const event of events) {
      // (c) event times never decrease, and nothing is stamped after the decision's instant.
      expect(Number.isSafeInteger(event.at)).toBe(true)
      // (A deleted id may be created again by an instance whose clock lags: a new session, a new timeline.)
      if (all.length > 0 && event.type !== "SESSION_CREATED") expect(event.at).toBeGreaterThanOrEqual(all.at(-1)!.at)
      expect(event.at).toBeLessThanOrEqual(decidedAt)
      state = applyChecked(state, event)
      all.push(event)
      if (event.type === "SESSION_CREATED") {
        sinceCreate = 0
        earned.clear()
      }
      sinceCreate++
      if (event.type === "CYCLE_SWITCHED") {
        earned.set(event.fromParticipantId, (earned.get(event.fromParticipantId) ?? 0) + event.incrementMs)
      }
    }
    if (state === null) return
    const current: SessionState = state
    // (b) the version counts the session's events.
    expect(current.version).toBe(sinceCreate)
    // No timeout that fell due by the decision's instant survives it.
    const deadline = expiresAtOf(current)
    if (deadline !== null) expect(deadline).toBeGreaterThan(decidedAt)
    const due = dueAtOf(current)
    if (due !== null) expect(due).toBeGreaterThan(decidedAt)
    // Eliminated participants never hold the turn.
    if (current.status === "running" || current.status === "paused") {
      expect(current.participants.find((p) => p.participantId === current.activeParticipantId)?.hasExpired).toBe(false)
    } else {
      expect(current.activeParticipantId).toBeNull()
    }
    // (a), (e) at the decision's instant, at an arbitrary one, and far beyond every clock.
    checkClocks(current, decidedAt, earned)
    checkClocks(current, decidedAt + step.probe, earned)
    checkClocks(current, decidedAt + 10_000_000, earned)
  })

  // (c) replaying every event reproduces the final state exactly, also from the stored form.
  expect(replay(all)).toEqual(state)
  const stored = all.map((e) => JSON.parse(JSON.stringify({ type: e.type, at: e.at, payload: eventPayload(e) })) as {
    type: string
    at: number
    payload: Record<string, unknown>
  })
  expect(replay(stored.map((e) => eventFromStored(e.type, e.at, e.payload)))).toEqual(state)
}

describe("domain properties", () => {
  it(`random sessions and commands keep every invariant (${NUM_RUNS} runs)`, () => {
    fc.assert(fc.property(scenarioArb, runScenario), { numRuns: NUM_RUNS })
  }, Math.max(30_000, NUM_RUNS * 10))

  it("timeouts are exercised: sessions expire under every action", () => {
    // Guards the generator: with no timeouts the property above would prove little.
    const seen = new Set<string>()
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const { before, event } of transitionsOf(scenario)) {
          if (event.type === "TIME_EXPIRED" && before !== null) seen.add(`${before.config.syncMode}/${before.config.actionOnTimeout}`)
        }
      }),
      { numRuns: NUM_RUNS, seed: 42 }
    )
    expect([...seen].sort()).toEqual(SYNC_MODES.flatMap((m) => TIMEOUT_ACTIONS.map((a) => `${m}/${a}`)).sort())
  })
})
