/** A field and why it was refused, as the server reports validation failures too. */
export interface FieldIssue {
  readonly field: string
  readonly message: string
}

/**
 * Every failure the SDK reports. `status` is the HTTP status when the server answered; `code` is the
 * server's error code (`SESSION_NOT_FOUND`, `CONFLICT`, …) or one of the SDK's own:
 *   INVALID_ARGUMENT  refused before any request; `details` lists the fields
 *   NETWORK_ERROR     the server could not be reached
 *   BAD_RESPONSE      the server answered something that is not the API's JSON
 */
export class SyncKairosError extends Error {
  override readonly name = "SyncKairosError"

  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly details?: unknown
  ) {
    super(message)
  }

  static invalidArgument(issues: ReadonlyArray<FieldIssue>): SyncKairosError {
    return new SyncKairosError(
      "INVALID_ARGUMENT",
      issues.map((issue) => `${issue.field} ${issue.message}`).join("; "),
      undefined,
      issues
    )
  }
}
