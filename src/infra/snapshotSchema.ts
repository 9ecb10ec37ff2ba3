/**
 * The stored forms of a session's state, one Schema per version. Snapshots live in Redis while a session
 * runs and for years in PostgreSQL (`sessions.last_snapshot`), so a version, once written, never changes:
 * a new form of the state is a new version here, with a function from each older version to it.
 *
 *   1  the state as plain JSON (`JSON.stringify(state)`), no version field
 *   2  `"_v": 2`, flat: configuration and state side by side, each participant once (its settings and
 *      its clock together), defaults left out; `version` stays a top-level field for SQL readers
 *   3  `"_v": 3`, version 2 with shorter participant fields (`id`, `usedMs`, `cycles`) and the active
 *      participant named by its position (`active`) rather than its id: a snapshot of two participants
 *      fits Redis's 512-byte allocation class instead of the 640-byte one
 */
import { Schema } from "effect"
import { STATUSES, SYNC_MODES, TIMEOUT_ACTIONS, type ParticipantState, type SessionState } from "../domain/index.ts"

const NullableNumber = Schema.NullOr(Schema.Number)
const Metadata = Schema.Record(Schema.String, Schema.Unknown)
const SyncMode = Schema.Literals(SYNC_MODES)
const Status = Schema.Literals(STATUSES)
const TimeoutAction = Schema.Literals(TIMEOUT_ACTIONS)

/** Version 1: `SessionState` as it was when snapshots were first stored. */
export const SnapshotV1 = Schema.Struct({
  config: Schema.Struct({
    sessionId: Schema.String,
    syncMode: SyncMode,
    participants: Schema.Array(Schema.Struct({
      participantId: Schema.String,
      participantIndex: Schema.Number,
      totalTimeMs: Schema.Number,
      groupId: Schema.NullOr(Schema.String)
    })),
    totalTimeMs: Schema.Number,
    timePerCycleMs: NullableNumber,
    incrementMs: Schema.Number,
    maxTimeMs: NullableNumber,
    actionOnTimeout: TimeoutAction,
    autoAdvance: Schema.Boolean,
    timeoutWarningsMs: Schema.Array(Schema.Number),
    metadata: Schema.NullOr(Metadata)
  }),
  status: Status,
  version: Schema.Number,
  participants: Schema.Array(Schema.Struct({
    participantId: Schema.String,
    participantIndex: Schema.Number,
    groupId: Schema.NullOr(Schema.String),
    timeUsedMs: Schema.Number,
    cycleCount: Schema.Number,
    hasExpired: Schema.Boolean
  })),
  activeParticipantId: Schema.NullOr(Schema.String),
  banks: Schema.Record(Schema.String, Schema.Number),
  cycleStartedAt: NullableNumber,
  warnedMs: Schema.Array(Schema.Number),
  sessionStartedAt: NullableNumber,
  sessionCompletedAt: NullableNumber,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})
export type SnapshotV1 = typeof SnapshotV1.Type

/** Version 1 is today's state: this stops compiling when `SessionState` changes, where the migration goes. */
export const fromSnapshotV1 = (snapshot: SnapshotV1): SessionState => snapshot

/** The timeout action version 2 leaves out: part of the format, so it never follows the domain's defaults. */
const V2_ACTION_ON_TIMEOUT = "end_session"
/** Version 2 keeps a participant's own clock in its entry (`bank`) under this clock name prefix. */
const V2_PARTICIPANT_CLOCK = "participant:"

const opt = Schema.optionalKey

const ParticipantV2 = Schema.Struct({
  participantId: Schema.String,
  /** Absent: its position in `participants`. */
  participantIndex: opt(Schema.Number),
  /** Absent: the session's `totalTimeMs`. */
  totalTimeMs: opt(Schema.Number),
  groupId: opt(Schema.String),
  timeUsedMs: opt(Schema.Number),
  cycleCount: opt(Schema.Number),
  hasExpired: opt(Schema.Boolean),
  /** The clock `participant:<participantId>`, when the session has one. */
  bank: opt(Schema.Number)
})

/** Version 2. Absent fields hold null, 0, false, an empty list, or the default noted. */
export const SnapshotV2 = Schema.Struct({
  _v: Schema.Literal(2),
  version: Schema.Number,
  sessionId: Schema.String,
  syncMode: SyncMode,
  status: Status,
  totalTimeMs: Schema.Number,
  timePerCycleMs: opt(Schema.Number),
  incrementMs: opt(Schema.Number),
  maxTimeMs: opt(Schema.Number),
  /** Absent: end_session. */
  actionOnTimeout: opt(TimeoutAction),
  autoAdvance: opt(Schema.Boolean),
  timeoutWarningsMs: opt(Schema.Array(Schema.Number)),
  metadata: opt(Metadata),
  participants: Schema.Array(ParticipantV2),
  activeParticipantId: opt(Schema.String),
  /** The clocks that are not a participant's own. */
  banks: opt(Schema.Record(Schema.String, Schema.Number)),
  cycleStartedAt: opt(Schema.Number),
  warnedMs: opt(Schema.Array(Schema.Number)),
  sessionStartedAt: opt(Schema.Number),
  sessionCompletedAt: opt(Schema.Number),
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})
export type SnapshotV2 = typeof SnapshotV2.Type
type ParticipantV2 = typeof ParticipantV2.Type

/** Version 2 writes nothing for a value equal to the one its reader assumes (undefined: JSON leaves the key out). */
const unlessEqual = <V>(value: V, assumed: V): V | undefined => value === assumed ? undefined : value
const unlessEmpty = <V>(values: ReadonlyArray<V>): ReadonlyArray<V> | undefined => values.length === 0 ? undefined : values

/**
 * A participant's settings (config) and clock (state) are stored as one entry, so both lists must name
 * the same participants in the same order, as `evolve` keeps them; anything else is refused rather than
 * stored wrong.
 */
const pairedParticipants = (state: SessionState) => {
  const specs = state.config.participants
  const paired = specs.length === state.participants.length && specs.every((spec, i) => {
    const p = state.participants[i]!
    return p.participantId === spec.participantId && p.participantIndex === spec.participantIndex && p.groupId === spec.groupId
  })
  if (!paired) throw new Error(`session ${state.config.sessionId}: participants differ from the configuration's`)
  return specs.map((spec, i) => ({ spec, clock: state.participants[i]! }))
}

const toSnapshotV2 = (state: SessionState): SnapshotV2 => {
  const { config } = state
  const ownClocks = new Set<string>()
  const participants = pairedParticipants(state).map(({ clock, spec }, position): ParticipantV2 => {
    const clockName = V2_PARTICIPANT_CLOCK + spec.participantId
    const bank = state.banks[clockName]
    if (bank !== undefined) ownClocks.add(clockName)
    return {
      participantId: spec.participantId,
      participantIndex: unlessEqual(spec.participantIndex, position),
      totalTimeMs: unlessEqual(spec.totalTimeMs, config.totalTimeMs),
      groupId: spec.groupId ?? undefined,
      timeUsedMs: unlessEqual(clock.timeUsedMs, 0),
      cycleCount: unlessEqual(clock.cycleCount, 0),
      hasExpired: unlessEqual(clock.hasExpired, false),
      bank
    }
  })
  const otherClocks = Object.entries(state.banks).filter(([name]) => !ownClocks.has(name))
  return {
    _v: 2,
    version: state.version,
    sessionId: config.sessionId,
    syncMode: config.syncMode,
    status: state.status,
    totalTimeMs: config.totalTimeMs,
    timePerCycleMs: config.timePerCycleMs ?? undefined,
    incrementMs: unlessEqual(config.incrementMs, 0),
    maxTimeMs: config.maxTimeMs ?? undefined,
    actionOnTimeout: unlessEqual(config.actionOnTimeout, V2_ACTION_ON_TIMEOUT),
    autoAdvance: unlessEqual(config.autoAdvance, false),
    timeoutWarningsMs: unlessEmpty(config.timeoutWarningsMs),
    metadata: config.metadata ?? undefined,
    participants,
    activeParticipantId: state.activeParticipantId ?? undefined,
    banks: otherClocks.length === 0 ? undefined : Object.fromEntries(otherClocks),
    cycleStartedAt: state.cycleStartedAt ?? undefined,
    warnedMs: unlessEmpty(state.warnedMs),
    sessionStartedAt: state.sessionStartedAt ?? undefined,
    sessionCompletedAt: state.sessionCompletedAt ?? undefined,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt
  }
}

export const fromSnapshotV2 = (snapshot: SnapshotV2): SessionState => {
  const specs = snapshot.participants.map((p, position) => ({
    participantId: p.participantId,
    participantIndex: p.participantIndex ?? position,
    totalTimeMs: p.totalTimeMs ?? snapshot.totalTimeMs,
    groupId: p.groupId ?? null
  }))
  const ownBanks = snapshot.participants.flatMap((p) =>
    p.bank === undefined ? [] : [[V2_PARTICIPANT_CLOCK + p.participantId, p.bank] as const]
  )
  return {
    config: {
      sessionId: snapshot.sessionId,
      syncMode: snapshot.syncMode,
      participants: specs,
      totalTimeMs: snapshot.totalTimeMs,
      timePerCycleMs: snapshot.timePerCycleMs ?? null,
      incrementMs: snapshot.incrementMs ?? 0,
      maxTimeMs: snapshot.maxTimeMs ?? null,
      actionOnTimeout: snapshot.actionOnTimeout ?? V2_ACTION_ON_TIMEOUT,
      autoAdvance: snapshot.autoAdvance ?? false,
      timeoutWarningsMs: snapshot.timeoutWarningsMs ?? [],
      metadata: snapshot.metadata ?? null
    },
    status: snapshot.status,
    version: snapshot.version,
    participants: snapshot.participants.map((p, i): ParticipantState => ({
      participantId: p.participantId,
      participantIndex: specs[i]!.participantIndex,
      groupId: specs[i]!.groupId,
      timeUsedMs: p.timeUsedMs ?? 0,
      cycleCount: p.cycleCount ?? 0,
      hasExpired: p.hasExpired ?? false
    })),
    activeParticipantId: snapshot.activeParticipantId ?? null,
    banks: { ...Object.fromEntries(ownBanks), ...snapshot.banks },
    cycleStartedAt: snapshot.cycleStartedAt ?? null,
    warnedMs: snapshot.warnedMs ?? [],
    sessionStartedAt: snapshot.sessionStartedAt ?? null,
    sessionCompletedAt: snapshot.sessionCompletedAt ?? null,
    createdAt: snapshot.createdAt,
    updatedAt: snapshot.updatedAt
  }
}

const ParticipantV3 = Schema.Struct({
  id: Schema.String,
  participantIndex: ParticipantV2.fields.participantIndex,
  totalTimeMs: ParticipantV2.fields.totalTimeMs,
  groupId: ParticipantV2.fields.groupId,
  usedMs: ParticipantV2.fields.timeUsedMs,
  cycles: ParticipantV2.fields.cycleCount,
  hasExpired: ParticipantV2.fields.hasExpired,
  bank: ParticipantV2.fields.bank
})

const { activeParticipantId: _byId, ...sharedV2Fields } = SnapshotV2.fields

/** Version 3: version 2 but for the participants' field names and `active`. */
export const SnapshotV3 = Schema.Struct({
  ...sharedV2Fields,
  _v: Schema.Literal(3),
  participants: Schema.Array(ParticipantV3),
  /** The active participant's position in `participants`; absent: none. */
  active: opt(Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)))
}).check(Schema.makeFilter((snapshot) =>
  snapshot.active === undefined || snapshot.active < snapshot.participants.length
    ? undefined
    : { path: ["active"], issue: `no participant at position ${snapshot.active}` }
))
export type SnapshotV3 = typeof SnapshotV3.Type

export const toSnapshotV3 = (state: SessionState): SnapshotV3 => {
  const { _v, participants, activeParticipantId, ...shared } = toSnapshotV2(state)
  const active = activeParticipantId === undefined ? undefined : participants.findIndex((p) => p.participantId === activeParticipantId)
  if (active === -1) throw new Error(`session ${state.config.sessionId}: the active participant ${activeParticipantId} is not one of its participants`)
  return {
    _v: 3,
    ...shared,
    participants: participants.map(({ participantId, timeUsedMs, cycleCount, ...p }) => ({ id: participantId, ...p, usedMs: timeUsedMs, cycles: cycleCount })),
    active
  }
}

export const fromSnapshotV3 = ({ _v, participants, active, ...shared }: SnapshotV3): SessionState =>
  fromSnapshotV2({
    _v: 2,
    ...shared,
    participants: participants.map(({ id, usedMs, cycles, ...p }) => ({ participantId: id, ...p, timeUsedMs: usedMs, cycleCount: cycles })),
    activeParticipantId: active === undefined ? undefined : participants[active]!.id
  })
