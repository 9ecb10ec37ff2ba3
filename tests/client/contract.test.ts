/**
 * The SDK cannot import the server's code, so it states the contract's enums and bounds again: this
 * test keeps the two copies equal.
 */
import { expect, it } from "vitest"
import * as sdk from "../../client/src/index.ts"
import { TOKEN_ROLES, TOKEN_TTL_SECONDS } from "../../src/app/auth/tokens.ts"
import * as domain from "../../src/domain/index.ts"

it("names the server's sync modes, statuses, timeout actions and token roles, and checks its bounds", () => {
  expect(sdk.SYNC_MODES).toEqual(domain.SYNC_MODES)
  expect(sdk.STATUSES).toEqual(domain.STATUSES)
  expect(sdk.TIMEOUT_ACTIONS).toEqual(domain.TIMEOUT_ACTIONS)
  expect(sdk.TOKEN_ROLES).toEqual(TOKEN_ROLES)
  expect(sdk.LIMITS).toMatchObject({
    minClockMs: domain.MIN_CLOCK_MS,
    maxClockMs: domain.MAX_CLOCK_MS,
    maxIncrementMs: domain.MAX_INCREMENT_MS,
    maxParticipants: domain.MAX_PARTICIPANTS,
    maxWarnings: domain.MAX_WARNINGS,
    minTokenTtlSeconds: TOKEN_TTL_SECONDS.min,
    maxTokenTtlSeconds: TOKEN_TTL_SECONDS.max
  })
})
