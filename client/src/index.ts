export { Backoff, type BackoffOptions } from "./backoff.ts"
export { SyncKairos, type SwitchOptions, type SyncKairosOptions } from "./client.ts"
export { ClockEstimator, type ClockEstimatorOptions, monotonicNow } from "./clock.ts"
export { type FieldIssue, SyncKairosError } from "./errors.ts"
export {
  type ConnectionState,
  type FollowHandlers,
  type FollowOptions,
  SessionFeed,
  type StateChange,
  type WebSocketClass
} from "./follow.ts"
export type { Credential } from "./http.ts"
export { deadlineMs, elapsedAt, isRunning, remainingAt, timeUsedAt } from "./time.ts"
export * from "./types.ts"
export { isUuid, randomUuid } from "./uuid.ts"
export { type CommandOptions, LIMITS } from "./validate.ts"
