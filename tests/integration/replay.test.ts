/** After random command sequences through the API, replaying each session's events in Redis reproduces its snapshot. */
import fc from "fast-check"
import { afterAll, beforeAll, expect, it } from "vitest"
import { call, sessionBody, startServer, type TestServer, uuid } from "../support/app.ts"
import { storeReader } from "../support/store.ts"

let server: TestServer
let store: ReturnType<typeof storeReader>
beforeAll(async () => {
  server = await startServer("replay")
  store = storeReader(server.prefix)
})
afterAll(async () => {
  await store.close()
  await server.close()
})

const createBody = fc.constantFrom("per_participant", "per_cycle", "per_group", "global", "count_up").chain((mode) =>
  fc.integer({ min: 1, max: 5 }).map((n) => {
    const group = [uuid(), uuid()]
    const body = sessionBody(mode, n, {
      ...(mode === "per_cycle" ? { time_per_cycle_ms: 30_000 } : {}),
      ...(mode === "per_participant" ? { increment_ms: 1_000 } : {})
    })
    if (mode === "per_group") body.participants.forEach((p, i) => Object.assign(p, { group_id: group[i % 2] }))
    return body
  })
)

const command = fc.oneof(
  fc.constantFrom("start", "switch", "switch", "switch", "pause", "resume", "complete", "cancel").map((verb) => ({ verb, next: false })),
  fc.constant({ verb: "switch", next: true })
)

it("replaying the stream reproduces the snapshot after random command sequences", async () => {
  await fc.assert(
    fc.asyncProperty(createBody, fc.array(command, { maxLength: 15 }), fc.nat(), async (body, commands, pick) => {
      await call(server, "POST", "/v1/sessions", body)
      let accepted = 1
      for (const { verb, next } of commands) {
        const target = body.participants[pick % body.participants.length]!.participant_id
        const reply = await call(server, "POST", `/v1/sessions/${body.session_id}/${verb}`, next ? { next_participant_id: target } : {})
        expect(reply.status).toBeLessThan(500)
        if (reply.status === 200) accepted++
      }
      const stored = await store.read(body.session_id)
      expect(stored.replayed).toEqual(stored.snapshot)
      expect(stored.events.map((e) => e.version)).toEqual(Array.from({ length: stored.version }, (_, i) => i + 1))
      expect(stored.version).toBeGreaterThanOrEqual(accepted)
    }),
    { numRuns: 40 }
  )
})
