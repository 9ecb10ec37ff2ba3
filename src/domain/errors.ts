import { Data } from "effect"
import type { Status } from "./session.ts"

export interface FieldIssue {
  /** Path of the offending field in the request, e.g. `participants[2].participant_id`. */
  readonly field: string
  readonly message: string
}

export class InvalidCommand extends Data.TaggedError("InvalidCommand")<{
  readonly issues: ReadonlyArray<FieldIssue>
}> {
  override get message(): string {
    return this.issues.map((i) => `${i.field}: ${i.message}`).join("; ")
  }
}

export class SessionNotFound extends Data.TaggedError("SessionNotFound")<{ readonly sessionId: string }> {
  override get message(): string {
    return `session ${this.sessionId} does not exist`
  }
}

export class SessionAlreadyExists extends Data.TaggedError("SessionAlreadyExists")<{ readonly sessionId: string }> {
  override get message(): string {
    return `session ${this.sessionId} already exists`
  }
}

export class InvalidTransition extends Data.TaggedError("InvalidTransition")<{
  readonly sessionId: string
  readonly command: string
  readonly status: Status
}> {
  override get message(): string {
    return `cannot ${this.command} a session that is ${this.status}`
  }
}

/** A participant tried to end a turn that is not its own. */
export class NotYourTurn extends Data.TaggedError("NotYourTurn")<{
  readonly sessionId: string
  readonly participantId: string
  readonly activeParticipantId: string
}> {
  override get message(): string {
    return `participant ${this.participantId} cannot switch: it is ${this.activeParticipantId}'s turn`
  }
}

export type DomainError = InvalidCommand | SessionNotFound | SessionAlreadyExists | InvalidTransition | NotYourTurn
