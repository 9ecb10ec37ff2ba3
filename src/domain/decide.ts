import { Result } from "effect"
import { activeParticipant, earnsIncrement, expiresAtOf, nextParticipant, nextWarningOf, remainingOf } from "./clock.ts"
import type { Command } from "./commands.ts"
import { type DomainError, InvalidCommand, InvalidTransition, NotYourTurn, SessionAlreadyExists, SessionNotFound } from "./errors.ts"
import type { SessionEvent } from "./events.ts"
import { evolve } from "./evolve.ts"
import type { SessionState, Status } from "./session.ts"
import type { EpochMs } from "./time.ts"
import { toSessionConfig } from "./validate.ts"

export type Decision = Result.Result<ReadonlyArray<SessionEvent>, DomainError>

/**
 * Turns a command into the events it causes, given the session's state and the server's time.
 * Time never runs backwards within a session: an earlier `now` is raised to the last event's time.
 */
export const decide = (state: SessionState | null, command: Command, sessionId: string, now: EpochMs): Decision => {
  if (command.type === "CreateSession") {
    if (state !== null) return Result.fail(new SessionAlreadyExists({ sessionId }))
    const checked = toSessionConfig(command.input)
    if ("issues" in checked) return Result.fail(new InvalidCommand({ issues: checked.issues }))
    return Result.succeed([{ type: "SESSION_CREATED", at: now, config: checked.config }])
  }
  if (state === null) return Result.fail(new SessionNotFound({ sessionId }))
  const at = Math.max(now, state.updatedAt)
  const refuse = (status: Status = state.status) =>
    Result.fail(new InvalidTransition({ sessionId, command: verbOf[command.type], status }))
  const when = (allowed: ReadonlyArray<Status>, event: SessionEvent): Decision => {
    const settled = settleDue(state, at)
    // Name the status the session is really in: a timeout may have just ended it.
    if (!allowed.includes(settled.state.status)) return refuse(settled.state.status)
    return Result.succeed([...settled.events, event])
  }

  switch (command.type) {
    case "StartSession": {
      const first = state.participants[0]
      if (state.status !== "pending" || first === undefined) return refuse()
      return Result.succeed([{ type: "SESSION_STARTED", at, activeParticipantId: first.participantId }])
    }
    case "SwitchCycle":
      return state.status === "running" ? switchCycle(state, command, at) : refuse()
    case "PauseSession":
      return when(["running"], { type: "SESSION_PAUSED", at })
    case "ResumeSession":
      return when(["paused"], { type: "SESSION_RESUMED", at })
    case "CompleteSession":
      return when(["pending", "running", "paused"], { type: "SESSION_COMPLETED", at })
    case "CancelSession":
      return when(["pending", "running", "paused"], { type: "SESSION_CANCELLED", at })
    case "DeleteSession":
      return Result.succeed([{ type: "SESSION_DELETED", at }])
    case "SettleDue":
      return Result.succeed(settleDue(state, at).events)
  }
}

const verbOf: Record<Command["type"], string> = {
  CreateSession: "create",
  StartSession: "start",
  SwitchCycle: "switch",
  PauseSession: "pause",
  ResumeSession: "resume",
  CompleteSession: "complete",
  CancelSession: "cancel",
  DeleteSession: "delete",
  SettleDue: "settle"
}

/**
 * A switch that arrives after the running clock reached zero is answered by the timeout that already
 * happened, exactly as the server would have applied it at the expiry: when that timeout ended the
 * turn, the late switch neither revives it nor passes the turn a second time. A timeout that only
 * notified leaves the turn running at zero, so the switch then applies as usual.
 *
 * A participant switching for itself may end only its own turn, as of `at`: once a timeout has passed
 * the turn on, the turn it meant to end is over. Deciding this here, on the state the commit checks,
 * makes the rule atomic: a switch that loses a race is decided again on the new state.
 */
const switchCycle = (
  state: SessionState,
  { nextParticipantId: nextId, actingParticipantId: acting }: Extract<Command, { type: "SwitchCycle" }>,
  at: EpochMs
): Decision => {
  const settled = settleDue(state, at)
  const current = settled.state
  const active = activeParticipant(current)
  if (acting !== undefined && active !== undefined && active.participantId !== acting) {
    return Result.fail(new NotYourTurn({ sessionId: current.config.sessionId, participantId: acting, activeParticipantId: active.participantId }))
  }
  if (settled.events.some(endsTurn)) return Result.succeed(settled.events)
  if (active === undefined) {
    return Result.fail(new InvalidTransition({ sessionId: current.config.sessionId, command: "switch", status: current.status }))
  }
  const target = nextId === undefined
    ? nextParticipant(current, active.participantId)
    : current.participants.find((p) => p.participantId === nextId)
  if (nextId !== undefined && target === undefined) {
    return Result.fail(new InvalidCommand({ issues: [{ field: "next_participant_id", message: "is not a participant of this session" }] }))
  }
  if (target?.hasExpired === true) {
    return Result.fail(new InvalidCommand({ issues: [{ field: "next_participant_id", message: "has expired and cannot take a turn" }] }))
  }
  // Fischer: only a turn finished with time on the clock earns the increment.
  const earned = earnsIncrement(current.config.syncMode) && remainingOf(current, active, at) > 0
  return Result.succeed([...settled.events, {
    type: "CYCLE_SWITCHED",
    at,
    fromParticipantId: active.participantId,
    // With no one else left, the turn comes back to the active participant.
    toParticipantId: (target ?? active).participantId,
    incrementMs: earned ? current.config.incrementMs : 0
  }])
}

const endsTurn = (event: SessionEvent): boolean => event.type === "CYCLE_SWITCHED" || event.type === "SESSION_EXPIRED"

/** Bounds catching up on a long-unattended auto-advancing session; the next command continues. */
const MAX_SETTLE_STEPS = 10_000

/**
 * Settles everything due up to `now`: every warning and every expiry (timeout), each at its own
 * instant, in time order, timeouts with the session's configured action. Returns the events and the
 * state they lead to.
 */
export const settleDue = (state: SessionState, now: EpochMs): { state: SessionState; events: Array<SessionEvent> } => {
  const events: Array<SessionEvent> = []
  let current = state
  const record = (event: SessionEvent) => {
    events.push(event)
    current = evolve(current, event) ?? current
  }
  for (let step = 0; step < MAX_SETTLE_STEPS; step++) {
    const expiresAt = expiresAtOf(current)
    const active = activeParticipant(current)
    if (expiresAt === null || active === undefined) break
    // A warning always falls before its turn's expiry.
    const warning = nextWarningOf(current)
    if (warning !== null && warning.at <= now) {
      record({ type: "TIMEOUT_WARNING", at: Math.max(warning.at, current.updatedAt), participantId: active.participantId, thresholdMs: warning.thresholdMs })
      continue
    }
    if (expiresAt > now) break
    const at = Math.max(expiresAt, current.updatedAt)
    const { syncMode, actionOnTimeout, autoAdvance } = current.config
    const advances = autoAdvance || actionOnTimeout === "skip_cycle"
    const eliminates = !autoAdvance && actionOnTimeout !== "notify"
    const expiredParticipantIds = !eliminates
      ? []
      : syncMode === "per_group"
      ? current.participants.filter((p) => p.groupId === active.groupId && !p.hasExpired).map((p) => p.participantId)
      : [active.participantId]
    record({ type: "TIME_EXPIRED", at, participantId: active.participantId, expiredParticipantIds })
    if (actionOnTimeout === "notify" && !autoAdvance) break
    const next = advances ? nextParticipant(current, active.participantId) : undefined
    record(
      next === undefined
        ? { type: "SESSION_EXPIRED", at }
        : { type: "CYCLE_SWITCHED", at, fromParticipantId: active.participantId, toParticipantId: next.participantId, incrementMs: 0 }
    )
  }
  return { state: current, events }
}
