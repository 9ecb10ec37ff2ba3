/**
 * Turn enforcement is atomic: two participants' tokens hammer switch on one session through two
 * instances. Every accepted switch is made by the participant active at that version; every other
 * answer is 403 NOT_YOUR_TURN; versions stay gap-free.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fromStoredEvent } from "../../src/app/sessionCodec.ts"
import { startServer, type TestServer } from "../support/app.ts"
import { authOn, callAs, mint, runningSession } from "../support/auth.ts"
import { storeReader } from "../support/store.ts"

let a: TestServer
let b: TestServer
let store: ReturnType<typeof storeReader>
beforeAll(async () => {
  a = await startServer("auth-race", authOn())
  b = await startServer("auth-race", { ...authOn(), keyPrefix: a.prefix })
  store = storeReader(a.prefix)
})
afterAll(async () => {
  await store.close()
  await b.close()
  await a.close()
})

describe("200 concurrent switches by two participants", () => {
  it("pass the turn only as its holder asks: versions gap-free, every refusal NOT_YOUR_TURN", async () => {
    const { id, participants } = await runningSession(a)
    const tokens = await Promise.all(participants.map((pid) => mint(a, id, { role: "participant", participant_id: pid })))
    const requests = Array.from({ length: 200 }, (_, i) => ({ participant: participants[i % 2]!, token: tokens[i % 2]!, server: i % 4 < 2 ? a : b }))
    const replies = await Promise.all(requests.map((r) => callAs(r.token, r.server, "POST", `/v1/sessions/${id}/switch`, {})))

    const accepted = replies.flatMap((reply, i) => reply.status === 200 ? [{ version: reply.body.data.version as number, by: requests[i]!.participant }] : [])
    const refused = replies.filter((reply) => reply.status !== 200)
    expect(refused.map((r) => [r.status, r.body.error.code])).toEqual(refused.map(() => [403, "NOT_YOUR_TURN"]))
    expect(accepted.length).toBeGreaterThan(0)
    accepted.sort((x, y) => x.version - y.version)
    // Created at 1, started at 2: the accepted switches are 3, 4, … with no gap.
    expect(accepted.map((s) => s.version)).toEqual(accepted.map((_, i) => i + 3))

    const stored = await store.read(id)
    expect(stored.version).toBe(2 + accepted.length)
    expect(stored.events.map((e) => e.version)).toEqual(Array.from({ length: stored.version }, (_, i) => i + 1))
    expect(stored.replayed).toEqual(stored.snapshot)
    const switches = stored.events.slice(2).map(fromStoredEvent)
    // The event at each accepted version was made by the participant whose request got that version,
    // who was the one active: the turn alternates and never passes twice from the same holder.
    expect(switches.map((e) => e.type === "CYCLE_SWITCHED" ? e.fromParticipantId : e.type)).toEqual(accepted.map((s) => s.by))
    expect(accepted.map((s) => s.by)).toEqual(accepted.map((_, i) => participants[i % 2]))
  })
})
