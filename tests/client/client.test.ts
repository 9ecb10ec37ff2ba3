/** The SDK's HTTP calls without a server: bad arguments fail before any request, failures are typed. */
import { describe, expect, it } from "vitest"
import { SyncKairos, SyncKairosError } from "../../client/src/index.ts"
import { SESSION } from "./states.ts"

interface Sent {
  readonly url: string
  readonly init: RequestInit
}

/** A fetch that records what it was asked and answers with `status` and `body`. */
const recordingFetch = (status = 200, body: unknown = { data: {} }) => {
  const sent: Array<Sent> = []
  const fetchImpl = async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({ url: String(url), init: init ?? {} })
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })
  }
  return { sent, fetchImpl: fetchImpl as typeof fetch }
}

const rejection = async (promise: Promise<unknown>): Promise<SyncKairosError> => {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(SyncKairosError)
  return error as SyncKairosError
}

describe("bad arguments", () => {
  it("are refused with INVALID_ARGUMENT naming each field, and nothing is sent", async () => {
    const { sent, fetchImpl } = recordingFetch()
    const client = new SyncKairos({ baseUrl: "http://sk.test", fetch: fetchImpl })
    const cases: Array<[Promise<unknown>, Array<string>]> = [
      [client.start("not-a-uuid"), ["sessionId"]],
      [client.switchTurn(SESSION, { nextParticipantId: "me" }), ["nextParticipantId"]],
      [client.pause(SESSION, { expectedVersion: -1 }), ["expectedVersion"]],
      [client.resume(SESSION, { idempotencyKey: "with space" }), ["idempotencyKey"]],
      [client.getSession(""), ["sessionId"]],
      [client.history(SESSION, { limit: 0, order: "up" as "asc" }), ["order", "limit"]],
      [
        client.createSession({
          sync_mode: "chess" as "global",
          total_time_ms: 10,
          participants: [{ participant_id: SESSION }, { participant_id: SESSION, total_time_ms: 1.5 }]
        }),
        ["sync_mode", "total_time_ms", "participants[1].participant_id", "participants[1].total_time_ms"]
      ],
      [client.createSession({ sync_mode: "per_cycle", total_time_ms: 60_000, participants: [] }), ["time_per_cycle_ms", "participants"]],
      [client.createSession({ sync_mode: "per_group", total_time_ms: 60_000, participants: [{}] }), ["participants[0].group_id"]],
      [client.createToken(SESSION, { role: "participant", ttlSeconds: 10 }), ["participantId", "ttlSeconds"]],
      [client.createToken(SESSION, { role: "owner" as "host", participantId: SESSION }), ["role", "participantId"]]
    ]
    for (const [call, fields] of cases) {
      const error = await rejection(call)
      expect(error.code).toBe("INVALID_ARGUMENT")
      expect(error.status).toBeUndefined()
      expect((error.details as Array<{ field: string }>).map((i) => i.field)).toEqual(fields)
    }
    expect(() => client.follow("nope", {})).toThrow(SyncKairosError)
    expect(() => new SyncKairos({ baseUrl: "localhost:3000" })).toThrow(/baseUrl\[0\] must be an http\(s\) URL/)
    expect(sent).toEqual([])
  })
})

describe("requests", () => {
  it("send the credential, the pinned version and the idempotency key as headers", async () => {
    const { sent, fetchImpl } = recordingFetch(200, { data: { version: 3 } })
    const client = new SyncKairos({ baseUrl: "http://sk.test/", token: () => "tok", fetch: fetchImpl })
    await client.switchTurn(SESSION, { expectedVersion: 2, idempotencyKey: "move-7", nextParticipantId: SESSION })
    expect(sent[0]!.url).toBe(`http://sk.test/v1/sessions/${SESSION}/switch`)
    expect(sent[0]!.init.headers).toMatchObject({ authorization: "Bearer tok", "if-match": "\"2\"", "idempotency-key": "move-7" })
    expect(JSON.parse(String(sent[0]!.init.body))).toEqual({ next_participant_id: SESSION })
  })

  it("fill in the session and participant ids a create leaves out", async () => {
    const { sent, fetchImpl } = recordingFetch(201, { data: {} })
    const client = new SyncKairos({ baseUrl: "http://sk.test", fetch: fetchImpl })
    await client.createSession({ sync_mode: "global", total_time_ms: 60_000, participants: [{}] })
    const body = JSON.parse(String(sent[0]!.init.body))
    expect(body.session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(body.participants[0].participant_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it("turn an API error into a SyncKairosError with its status, code and details", async () => {
    const details = { expected_version: 2, current_version: 5 }
    const { fetchImpl } = recordingFetch(409, { error: { code: "CONFLICT", message: "version moved", details } })
    const error = await rejection(new SyncKairos({ baseUrl: "http://sk.test", fetch: fetchImpl }).start(SESSION))
    expect(error).toMatchObject({ status: 409, code: "CONFLICT", message: "version moved", details })
  })

  it("report an unreachable server as NETWORK_ERROR and move on to the next base URL", async () => {
    const urls: Array<string> = []
    const fetchImpl = (async (url: string) => {
      urls.push(url)
      throw new TypeError("fetch failed")
    }) as unknown as typeof fetch
    const client = new SyncKairos({ baseUrl: ["http://one.test", "http://two.test"], fetch: fetchImpl })
    expect((await rejection(client.getSession(SESSION))).code).toBe("NETWORK_ERROR")
    await rejection(client.getSession(SESSION))
    expect(urls.map((u) => new URL(u).host)).toEqual(["one.test", "two.test"])
  })
})
