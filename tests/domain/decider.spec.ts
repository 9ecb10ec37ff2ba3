/**
 * Test helpers for the pure domain, in the shape of emmett's DeciderSpecification:
 *
 *   given(events).when(command, now).then(expectedEvents)   // exact events, returns the new state
 *   given(events).when(command, now).thenFails("InvalidTransition")
 *
 * and a small driver (`Table`) for scalachess-style tables: freeze time, apply commands at given
 * instants, read every clock as exact integer milliseconds.
 *
 * All times are integer epoch milliseconds. `T0` is an arbitrary, realistic epoch so that no test
 * depends on times starting at zero; `at(ms)` is `T0 + ms`.
 */
import { Result } from "effect"
import { expect } from "vitest"
import {
  type Command,
  type CreateSessionInput,
  decide,
  type DomainError,
  evolve,
  expiresAtOf,
  type ParticipantState,
  remainingOf,
  replay,
  type SessionConfig,
  type SessionEvent,
  type SessionState,
  timeUsedOf,
  toSessionConfig
} from "../../src/domain/index.ts"

export const SID = "00000000-0000-4000-8000-000000000001"
export const T0 = 1_700_000_000_000
export const at = (ms: number): number => T0 + ms
export const s = (seconds: number): number => seconds * 1_000

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

export const cmd = {
  create: (input: Partial<CreateSessionInput> & Pick<CreateSessionInput, "syncMode">): Command => ({
    type: "CreateSession",
    input: createInput(input)
  }),
  start: { type: "StartSession" } as Command,
  switch: (nextParticipantId?: string): Command => ({ type: "SwitchCycle", nextParticipantId }),
  pause: { type: "PauseSession" } as Command,
  resume: { type: "ResumeSession" } as Command,
  complete: { type: "CompleteSession" } as Command,
  cancel: { type: "CancelSession" } as Command,
  delete: { type: "DeleteSession" } as Command,
  settle: { type: "SettleDue" } as Command
} as const

/** A create request with two participants A and B and 60 s unless told otherwise. */
export const createInput = (
  input: Partial<CreateSessionInput> & Pick<CreateSessionInput, "syncMode">
): CreateSessionInput => ({
  sessionId: SID,
  participants: [{ participantId: "A" }, { participantId: "B" }],
  totalTimeMs: s(60),
  ...input
})

/** The validated configuration of a create request; throws when the request is invalid. */
export const configOf = (input: Partial<CreateSessionInput> & Pick<CreateSessionInput, "syncMode">): SessionConfig => {
  const checked = toSessionConfig(createInput(input))
  if ("issues" in checked) throw new Error(`invalid test config: ${JSON.stringify(checked.issues)}`)
  return checked.config
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export const ev = {
  created: (config: SessionConfig, t: number): SessionEvent => ({ type: "SESSION_CREATED", at: t, config }),
  started: (t: number, activeParticipantId = "A"): SessionEvent => ({ type: "SESSION_STARTED", at: t, activeParticipantId }),
  switched: (t: number, fromParticipantId: string, toParticipantId: string, incrementMs = 0): SessionEvent => ({
    type: "CYCLE_SWITCHED",
    at: t,
    fromParticipantId,
    toParticipantId,
    incrementMs
  }),
  paused: (t: number): SessionEvent => ({ type: "SESSION_PAUSED", at: t }),
  resumed: (t: number): SessionEvent => ({ type: "SESSION_RESUMED", at: t }),
  timeExpired: (t: number, participantId: string, expiredParticipantIds: ReadonlyArray<string> = []): SessionEvent => ({
    type: "TIME_EXPIRED",
    at: t,
    participantId,
    expiredParticipantIds
  }),
  warned: (t: number, participantId: string, thresholdMs: number): SessionEvent => ({
    type: "TIMEOUT_WARNING",
    at: t,
    participantId,
    thresholdMs
  }),
  expired: (t: number): SessionEvent => ({ type: "SESSION_EXPIRED", at: t }),
  completed: (t: number): SessionEvent => ({ type: "SESSION_COMPLETED", at: t }),
  cancelled: (t: number): SessionEvent => ({ type: "SESSION_CANCELLED", at: t }),
  deleted: (t: number): SessionEvent => ({ type: "SESSION_DELETED", at: t })
} as const

// ---------------------------------------------------------------------------------------------
// given / when / then
// ---------------------------------------------------------------------------------------------

export interface Then {
  /** Asserts the exact events and returns the state they lead to (null once deleted). */
  then(expected: ReadonlyArray<SessionEvent>): SessionState | null
  /** Asserts that the command is accepted and returns its events, whatever they are. */
  thenAccepted(): ReadonlyArray<SessionEvent>
  /** Asserts a failure with this tag and returns the error for further checks. */
  thenFails<Tag extends DomainError["_tag"]>(tag: Tag): Extract<DomainError, { _tag: Tag }>
}

export const given = (...history: ReadonlyArray<SessionEvent | ReadonlyArray<SessionEvent>>) => {
  const events = history.flat() as ReadonlyArray<SessionEvent>
  const state = replay(events)
  return {
    state,
    when: (command: Command, now: number): Then => {
      const before = structuredClone(state)
      const result = decide(state, command, SID, now)
      // decide is pure: it never touches the state it was given.
      expect(state).toEqual(before)
      return {
        then: (expected) => {
          if (Result.isFailure(result)) {
            throw new Error(`expected events, got ${result.failure._tag}: ${result.failure.message}`)
          }
          expect(result.success).toEqual(expected)
          return replay([...events, ...result.success])
        },
        thenAccepted: () => {
          if (Result.isFailure(result)) {
            throw new Error(`expected events, got ${result.failure._tag}: ${result.failure.message}`)
          }
          expect(result.success.length).toBeGreaterThan(0)
          return result.success
        },
        thenFails: (tag) => {
          if (Result.isSuccess(result)) {
            throw new Error(`expected ${tag}, got events ${JSON.stringify(result.success.map((e) => e.type))}`)
          }
          expect(result.failure._tag).toBe(tag)
          return result.failure as never
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Table driver
// ---------------------------------------------------------------------------------------------

/** What a client would see of one participant at one instant. */
export interface View {
  readonly remaining: number
  readonly used: number
  readonly cycles: number
  readonly expired: boolean
}

/**
 * Drives one session through commands at frozen instants (relative ms, turned into epoch ms with
 * `at`). `run` fails the test when a command is rejected; `reject` when it is accepted.
 */
export class Table {
  readonly events: Array<SessionEvent> = []
  state: SessionState | null = null
  /** Events produced by the last accepted command. */
  last: ReadonlyArray<SessionEvent> = []

  constructor(input: Partial<CreateSessionInput> & Pick<CreateSessionInput, "syncMode">, createdAt = 0) {
    this.run(cmd.create(input), createdAt)
  }

  run(command: Command, t: number): ReadonlyArray<SessionEvent> {
    const result = decide(this.state, command, SID, at(t))
    if (Result.isFailure(result)) {
      throw new Error(`${command.type} at ${t} ms rejected: ${result.failure._tag}: ${result.failure.message}`)
    }
    for (const event of result.success) {
      this.events.push(event)
      this.state = evolve(this.state, event)
    }
    this.last = result.success
    return result.success
  }

  reject(command: Command, t: number): DomainError {
    const result = decide(this.state, command, SID, at(t))
    if (Result.isSuccess(result)) {
      throw new Error(`${command.type} at ${t} ms accepted: ${JSON.stringify(result.success)}`)
    }
    return result.failure
  }

  get current(): SessionState {
    if (this.state === null) throw new Error("no session")
    return this.state
  }

  participant(id: string): ParticipantState {
    const p = this.current.participants.find((q) => q.participantId === id)
    if (p === undefined) throw new Error(`no participant ${id}`)
    return p
  }

  /** Remaining time of participant `id` at relative instant `t`. */
  remaining(id: string, t: number): number {
    return remainingOf(this.current, this.participant(id), at(t))
  }

  used(id: string, t: number): number {
    return timeUsedOf(this.current, this.participant(id), at(t))
  }

  view(id: string, t: number): View {
    const p = this.participant(id)
    return { remaining: this.remaining(id, t), used: this.used(id, t), cycles: p.cycleCount, expired: p.hasExpired }
  }

  /** Relative deadline (ms after T0), or null. */
  deadline(): number | null {
    const d = expiresAtOf(this.current)
    return d === null ? null : d - T0
  }

  /** The last command's events as `TYPE@relative-ms` strings, for compact table assertions. */
  lastShort(): Array<string> {
    return this.last.map(short)
  }
}

/** `TYPE@ms` with the time relative to T0; CYCLE_SWITCHED adds `from>to`, TIME_EXPIRED the participant. */
export const short = (event: SessionEvent): string => {
  const t = event.at - T0
  switch (event.type) {
    case "CYCLE_SWITCHED":
      return `CYCLE_SWITCHED@${t}:${event.fromParticipantId}>${event.toParticipantId}${event.incrementMs > 0 ? `+${event.incrementMs}` : ""}`
    case "TIME_EXPIRED":
      return `TIME_EXPIRED@${t}:${event.participantId}[${event.expiredParticipantIds.join(",")}]`
    case "SESSION_STARTED":
      return `SESSION_STARTED@${t}:${event.activeParticipantId}`
    default:
      return `${event.type}@${t}`
  }
}
