import { Schema } from "effect"

/**
 * The session was deleted, and the audit may not know yet: it answers as not found rather than with
 * an earlier archived state.
 */
export class SessionDeleted extends Schema.TaggedError<SessionDeleted>()("SessionDeleted", {
  sessionId: Schema.String
}) {
  override get message(): string {
    return `session ${this.sessionId} was deleted`
  }
}

/** The client pinned a version (If-Match or expected_version) and the session has moved on. */
export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  expectedVersion: Schema.Number,
  currentVersion: Schema.Number
}) {
  override get message(): string {
    return `session is at version ${this.currentVersion}, not ${this.expectedVersion}`
  }
}

/** Every retry of an unpinned command lost the race to other writers. */
export class ContentionExceeded extends Schema.TaggedError<ContentionExceeded>()("ContentionExceeded", {
  attempts: Schema.Number
}) {
  override get message(): string {
    return `the session kept changing during ${this.attempts} attempts; retry`
  }
}

/** An idempotency key came back with a different command or body than its first use. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  key: Schema.String
}) {
  override get message(): string {
    return `Idempotency-Key ${this.key} was first used for a different request`
  }
}

/**
 * The first answer to this idempotency key was recorded by an earlier release in a form this one does
 * not read (records live IDEMPOTENCY_TTL_SECONDS). The command was applied then; it is not applied again.
 */
export class IdempotencyRecordUnreadable extends Schema.TaggedError<IdempotencyRecordUnreadable>()("IdempotencyRecordUnreadable", {
  key: Schema.String
}) {
  override get message(): string {
    return `Idempotency-Key ${this.key} was first answered by an earlier release; the command was applied then: read the session for its state`
  }
}
