import type { CreateSessionInput } from "./commands.ts"
import type { FieldIssue } from "./errors.ts"
import { earnsIncrement } from "./clock.ts"
import type { ParticipantSpec, SessionConfig, TimeoutAction } from "./session.ts"
import { MAX_CLOCK_MS, MIN_CLOCK_MS } from "./time.ts"

export const MAX_PARTICIPANTS = 1_000
export const MAX_INCREMENT_MS = 60_000
export const MAX_WARNINGS = 10

const DEFAULT_TIMEOUT_ACTION: Record<SessionConfig["syncMode"], TimeoutAction> = {
  per_participant: "end_session",
  per_cycle: "skip_cycle",
  per_group: "end_session",
  global: "end_session",
  count_up: "end_session"
}

/**
 * Turns a create request into a session configuration, or lists every rule it breaks. The HTTP schema
 * already checked types and single-field ranges; this checks what only the whole request can show.
 */
export const toSessionConfig = (input: CreateSessionInput): { config: SessionConfig } | { issues: Array<FieldIssue> } => {
  const issues: Array<FieldIssue> = []
  const mode = input.syncMode
  const clockRange = (field: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= MIN_CLOCK_MS && value <= MAX_CLOCK_MS)) {
      issues.push({ field, message: `must be an integer from ${MIN_CLOCK_MS} to ${MAX_CLOCK_MS} ms` })
    }
  }
  const onlyIn = (field: string, present: boolean, allowed: boolean, modes: string) => {
    if (present && !allowed) issues.push({ field, message: `applies only to ${modes} sessions` })
  }

  clockRange("total_time_ms", input.totalTimeMs)
  clockRange("time_per_cycle_ms", input.timePerCycleMs)
  clockRange("max_time_ms", input.maxTimeMs)
  if (mode === "per_cycle" && input.timePerCycleMs === undefined) {
    issues.push({ field: "time_per_cycle_ms", message: "is required for per_cycle sessions" })
  }
  onlyIn("time_per_cycle_ms", input.timePerCycleMs !== undefined, mode === "per_cycle", "per_cycle")
  onlyIn("max_time_ms", input.maxTimeMs !== undefined, mode === "count_up", "count_up")
  onlyIn("auto_advance", input.autoAdvance === true, mode === "per_cycle", "per_cycle")
  onlyIn("increment_ms", (input.incrementMs ?? 0) > 0, earnsIncrement(mode), "per_participant and per_group")
  const warnings = input.timeoutWarningsMs ?? []
  if (warnings.length > MAX_WARNINGS) issues.push({ field: "timeout_warnings_ms", message: `must hold at most ${MAX_WARNINGS} thresholds` })
  warnings.forEach((t, i) => {
    if (!(Number.isInteger(t) && t >= 1 && t <= MAX_CLOCK_MS)) {
      issues.push({ field: `timeout_warnings_ms[${i}]`, message: `must be an integer from 1 to ${MAX_CLOCK_MS} ms` })
    } else if (warnings.indexOf(t) !== i) issues.push({ field: `timeout_warnings_ms[${i}]`, message: "is a duplicate" })
  })
  const increment = input.incrementMs ?? 0
  if (!(Number.isInteger(increment) && increment >= 0 && increment <= MAX_INCREMENT_MS)) {
    issues.push({ field: "increment_ms", message: `must be an integer from 0 to ${MAX_INCREMENT_MS} ms` })
  }

  if (input.participants.length < 1 || input.participants.length > MAX_PARTICIPANTS) {
    issues.push({ field: "participants", message: `must hold 1 to ${MAX_PARTICIPANTS} participants` })
  }
  const seenIds = new Set<string>()
  const seenIndexes = new Set<number>()
  const participants: Array<ParticipantSpec> = input.participants.map((p, position) => {
    const at = `participants[${position}]`
    const index = p.participantIndex ?? position
    if (seenIds.has(p.participantId)) issues.push({ field: `${at}.participant_id`, message: "is a duplicate" })
    if (seenIndexes.has(index)) issues.push({ field: `${at}.participant_index`, message: "is a duplicate" })
    seenIds.add(p.participantId)
    seenIndexes.add(index)
    clockRange(`${at}.total_time_ms`, p.totalTimeMs)
    if (mode === "per_group" && p.groupId === undefined) {
      issues.push({ field: `${at}.group_id`, message: "is required for per_group sessions" })
    }
    return {
      participantId: p.participantId,
      participantIndex: index,
      totalTimeMs: p.totalTimeMs ?? input.totalTimeMs,
      groupId: p.groupId ?? null
    }
  })

  if (issues.length > 0) return { issues }
  return {
    config: {
      sessionId: input.sessionId,
      syncMode: mode,
      participants: participants.sort((a, b) => a.participantIndex - b.participantIndex),
      totalTimeMs: input.totalTimeMs,
      timePerCycleMs: input.timePerCycleMs ?? null,
      incrementMs: increment,
      maxTimeMs: input.maxTimeMs ?? null,
      actionOnTimeout: input.actionOnTimeout ?? DEFAULT_TIMEOUT_ACTION[mode],
      autoAdvance: input.autoAdvance ?? false,
      timeoutWarningsMs: [...warnings].sort((a, b) => b - a),
      metadata: input.metadata ?? null
    }
  }
}
