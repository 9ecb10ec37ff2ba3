/**
 * Turn switches. `switch-fixed` is the mirror of load-tests/switch.js (the k6 script run against
 * deployed instances): same offered load (RATE 1000/s, open loop, for DURATION 20 s), same session
 * setup (scenarios/sessions.ts ↔ setup() there), same request (POST /v1/sessions/:id/switch, body
 * `{}`, round-robin over the sessions). Keep the two in step.
 */
import { runOpenLoop } from "../harness/openLoop.ts"
import { makePool } from "../harness/pool.ts"
import type { OnComplete, RequestSpec } from "../harness/request.ts"
import type { Scenario } from "../harness/scenario.ts"
import { type HttpContext, scaledMs } from "./context.ts"
import { maxRateScenario } from "./maxRate.ts"
import type { SessionFixture } from "./sessions.ts"

export const SWITCH_RATE_PER_SEC = 1000
export const SWITCH_FIXED_DURATION_S = 20
/** Connections the open loop may open (lazily); far above rate × latency, so starts never queue. */
export const SWITCH_FIXED_CONNECTIONS = 256

const switchSource = (fixture: SessionFixture) => {
  const requests = fixture.switchRequests
  return (seq: number) => requests[seq % requests.length] as RequestSpec
}

const countSwitches = (fixture: SessionFixture): OnComplete => (seq, status) => {
  if (status >= 200 && status < 300) fixture.switchesOk[seq % fixture.switchesOk.length]!++
}

export const switchFixed = (
  ratePerSec = SWITCH_RATE_PER_SEC,
  durationS = SWITCH_FIXED_DURATION_S,
  name = "switch-fixed"
): Scenario<HttpContext> => {
  const offered = (scale: number) => {
    const durationMs = scaledMs(durationS, scale)
    return {
      model: "open" as const,
      ratePerSec,
      durationS: durationMs / 1000,
      connections: SWITCH_FIXED_CONNECTIONS,
      requests: Math.round((durationMs * ratePerSec) / 1000),
      description: `${ratePerSec}/s open loop for ${durationMs / 1000}s`
    }
  }
  return {
    name,
    description: "POST /switch round-robin over the sessions at a fixed arrival rate; latency from the scheduled instant",
    offered,
    run: async ({ origin, fixture }, scale) => {
      const pool = makePool(origin, SWITCH_FIXED_CONNECTIONS)
      try {
        return await runOpenLoop({
          dispatcher: pool,
          ratePerSec,
          durationMs: scaledMs(durationS, scale),
          connections: SWITCH_FIXED_CONNECTIONS,
          source: switchSource(fixture),
          onComplete: countSwitches(fixture)
        })
      } finally {
        await pool.close()
      }
    }
  }
}

export const switchMax = () =>
  maxRateScenario({
    name: "switch-max",
    description: "POST /switch round-robin over the sessions, closed loop at maximum rate",
    source: switchSource,
    onComplete: countSwitches
  })

/**
 * `switch-max` sent by the participants themselves: each switch carries the participant token of the
 * session's active participant, so the service verifies the token and checks the turn in the
 * decision. The active one is known from the switches counted so far plus those still in flight (a
 * switch in flight will pass the turn). Needs the fixture's tokens (`npm run bench -- --auth`).
 */
export const switchMaxToken = () => {
  let inFlight = new Uint32Array(0)
  return maxRateScenario({
    name: "switch-max-token",
    description: "switch-max, each switch sent with the active participant's own token (--auth only)",
    source: (fixture) => {
      const requests = fixture.participantSwitchRequests
      if (requests === null) throw new Error("switch-max-token needs participant tokens: run the bench with --auth")
      inFlight = new Uint32Array(requests.length)
      return (seq) => {
        const i = seq % requests.length
        const turn = (fixture.switchesOk[i]! + inFlight[i]!++) % 2
        return requests[i]![turn]!
      }
    },
    onComplete: (fixture) => {
      const count = countSwitches(fixture)
      return (seq, status) => {
        inFlight[seq % inFlight.length]!--
        count(seq, status)
      }
    }
  })
}
