import type { Credential } from "./credentials.ts"
import type { TokenRole } from "./tokens.ts"

/** What a route does, as far as access is concerned. Routes that name none are for API keys only. */
export type Action =
  | "create"
  | "read"
  | "follow"
  | "start"
  | "switch"
  | "pause"
  | "resume"
  | "complete"
  | "cancel"
  | "delete"
  | "mint"

/** The grants of each token role; API keys may do everything. */
export const ROLE_GRANTS: Record<TokenRole, ReadonlyArray<Action>> = {
  participant: ["read", "follow", "switch"],
  host: ["read", "follow", "start", "pause", "resume", "complete", "cancel", "switch"],
  observer: ["read", "follow"]
}

export type Access = { readonly allowed: true } | { readonly allowed: false; readonly reason: string }

const ALLOWED: Access = { allowed: true }

/**
 * May this credential do this action to this session? A token holds for its own session only.
 * Whether a participant's switch ends its own turn is the decision's to say, on the state it commits.
 */
export const authorize = (credential: Credential, action: Action | undefined, sessionId: string | undefined): Access => {
  if (credential.kind !== "token") return ALLOWED
  const { claims } = credential
  if (action === undefined || !ROLE_GRANTS[claims.role].includes(action)) {
    return { allowed: false, reason: `a ${claims.role} token may not ${action ?? "use this route"}` }
  }
  if (sessionId === undefined || sessionId.toLowerCase() !== claims.sessionId) {
    return { allowed: false, reason: "the session token is for another session" }
  }
  return ALLOWED
}

/** The participant a switch is made for, when the caller holds a participant token. */
export const actingParticipantOf = (credential: Credential): string | undefined =>
  credential.kind === "token" && credential.claims.role === "participant" ? credential.claims.participantId : undefined
