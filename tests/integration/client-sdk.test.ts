/**
 * The SDK against real instances: every call and its typed failures, the server clock, remaining
 * time against the API's, and a feed that outlives the instance it was connected to (SIGKILL) with
 * every version once, in order.
 */
import { WebSocket } from "ws"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ConnectionState, type SessionState, SyncKairos, SyncKairosError } from "../../client/src/index.ts"
import { startServer, type TestServer, uuid } from "../support/app.ts"
import { type Instance, startInstance } from "../support/instance.ts"
import { waitUntil } from "../support/instances.ts"
import { type ServiceProcess, spawnService } from "../support/process.ts"
import { deleteKeysWithPrefix, testPrefix } from "../support/redis.ts"

const failureOf = async (promise: Promise<unknown>): Promise<SyncKairosError> => {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(SyncKairosError)
  return error as SyncKairosError
}

const chess = (client: SyncKairos, minutes = 5) =>
  client.createSession({ sync_mode: "per_participant", total_time_ms: minutes * 60_000, increment_ms: 2_000, participants: [{}, {}] })

describe("one instance", () => {
  let server: TestServer
  let client: SyncKairos
  beforeAll(async () => {
    server = await startServer("client-sdk")
    client = new SyncKairos({ baseUrl: server.baseUrl, WebSocket })
  })
  afterAll(() => server.close())

  it("runs every command and read, with the server's failures as typed errors", async () => {
    const created = await chess(client)
    const id = created.session_id
    expect(created).toMatchObject({ status: "pending", version: 1, increment_ms: 2_000 })
    expect((await client.start(id)).status).toBe("running")
    const [a, b] = created.participants.map((p) => p.participant_id) as [string, string]
    expect((await client.switchTurn(id)).active_participant_id).toBe(b)
    expect((await client.switchTurn(id, { nextParticipantId: a })).active_participant_id).toBe(a)
    expect((await client.pause(id)).status).toBe("paused")
    expect((await client.resume(id)).status).toBe("running")
    const read = await client.getSession(id)
    expect(read).toMatchObject({ version: 6, status: "running" })
    expect(read.last_event_id).toMatch(/^\d+-\d+$/)

    const page = await client.history(id, { limit: 4 })
    expect(page.events.map((e) => e.type)).toEqual(["SESSION_CREATED", "SESSION_STARTED", "CYCLE_SWITCHED", "CYCLE_SWITCHED"])
    expect(page.next).toEqual({ after_version: 4 })
    expect((await client.history(id, { order: "desc", limit: 1 })).events[0]!.type).toBe("SESSION_RESUMED")

    expect(await failureOf(client.start(id))).toMatchObject({ status: 400, code: "INVALID_STATE_TRANSITION" })
    expect(await failureOf(client.pause(id, { expectedVersion: 3 }))).toMatchObject({
      status: 409,
      code: "CONFLICT",
      details: { expected_version: 3, current_version: 6 }
    })
    const first = await client.switchTurn(id, { idempotencyKey: `move-${id}` })
    const retried = await client.switchTurn(id, { idempotencyKey: `move-${id}` })
    expect(retried.version).toBe(first.version)
    expect((await client.getSession(id)).version).toBe(7)

    expect((await client.complete(id)).status).toBe("completed")
    await client.deleteSession(id)
    expect(await failureOf(client.getSession(id))).toMatchObject({ status: 404, code: "SESSION_NOT_FOUND" })
    expect(await failureOf(client.cancel(uuid()))).toMatchObject({ status: 404, code: "SESSION_NOT_FOUND" })
  })

  it("estimates the server clock, and computes remaining time as the API does", async () => {
    await client.syncClock(5)
    const before = Date.now()
    const serverTime = await client.time()
    const after = Date.now()
    // The server's clock is this host's (Redis TIME on the same machine): the estimate is as good as a round trip.
    expect(Math.abs(client.serverNow() - (before + after) / 2)).toBeLessThanOrEqual(after - before + 20)
    expect(serverTime).toBeGreaterThanOrEqual(before - 20)

    const created = await chess(client)
    await client.start(created.session_id)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const state = await client.getSession(created.session_id)
    // What the API's answer says the clock holds at server time `now`; the SDK's answer lies between two such instants.
    const api = (now: number) => state.time_remaining_ms! - (now - state.server_time_ms)
    const from = client.serverNow()
    const mine = client.remainingMs(state)
    const to = client.serverNow()
    expect(mine).toBeLessThanOrEqual(api(from) + 1)
    expect(mine).toBeGreaterThanOrEqual(api(to) - 1)
    expect(client.remainingMs(state, state.participants[1]!.participant_id)).toBe(300_000)
    expect(client.timeUsedMs(state)).toBeGreaterThanOrEqual(300)
  })

  it("follows a session: its state, then each event once and in order, then its deletion", async () => {
    const created = await chess(client)
    const id = created.session_id
    const versions: Array<number> = []
    const deleted: Array<number> = []
    const feed = client.follow(id, { onState: (s) => versions.push(s.version), onDeleted: (e) => deleted.push(e.version) })
    await waitUntil("the feed is live", () => feed.connection === "live")
    await client.start(id)
    for (let i = 0; i < 5; i++) await client.switchTurn(id)
    await waitUntil("the last switch arrived", () => versions.at(-1) === 7)
    expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7])
    await client.deleteSession(id)
    await waitUntil("the deletion arrived", () => deleted.length === 1)
    expect(deleted).toEqual([8])
    expect(feed.connection).toBe("closed")
  })

  it("reports an unknown session as a refusal that ends the feed", async () => {
    const errors: Array<SyncKairosError> = []
    const feed = client.follow(uuid(), { onError: (e) => errors.push(e) })
    await waitUntil("the feed was refused", () => feed.connection === "closed")
    expect(errors.map((e) => e.code)).toEqual(["SESSION_NOT_FOUND"])
  })
})

describe("with access control on", () => {
  const apiKey = "k".repeat(32)
  let server: TestServer
  beforeAll(async () => {
    server = await startServer("client-sdk-auth", { apiKeys: [apiKey], tokenSecret: "s".repeat(40) })
  })
  afterAll(() => server.close())

  it("mints session tokens with an API key, and each token does what its role allows", async () => {
    const admin = new SyncKairos({ baseUrl: server.baseUrl, apiKey, WebSocket })
    const created = await chess(admin)
    const id = created.session_id
    const [a, b] = created.participants.map((p) => p.participant_id) as [string, string]
    const tokenOf = async (request: Parameters<SyncKairos["createToken"]>[1]) => (await admin.createToken(id, request)).token
    const host = new SyncKairos({ baseUrl: server.baseUrl, token: await tokenOf({ role: "host" }) })
    const playerA = new SyncKairos({ baseUrl: server.baseUrl, token: await tokenOf({ role: "participant", participantId: a }) })
    const playerB = new SyncKairos({ baseUrl: server.baseUrl, token: () => tokenOf({ role: "participant", participantId: b }) })
    const observer = new SyncKairos({ baseUrl: server.baseUrl, token: await tokenOf({ role: "observer", ttlSeconds: 60 }), WebSocket })

    const versions: Array<number> = []
    const feed = observer.follow(id, { onState: (s) => versions.push(s.version) })
    await waitUntil("the observer's feed is live", () => feed.connection === "live")
    await host.start(id)
    expect(await failureOf(playerB.switchTurn(id))).toMatchObject({ status: 403, code: "NOT_YOUR_TURN" })
    expect((await playerA.switchTurn(id)).active_participant_id).toBe(b)
    expect((await playerB.switchTurn(id)).active_participant_id).toBe(a)
    expect(await failureOf(observer.pause(id))).toMatchObject({ status: 403, code: "FORBIDDEN" })
    expect(await failureOf(new SyncKairos({ baseUrl: server.baseUrl }).getSession(id))).toMatchObject({ status: 401, code: "UNAUTHORIZED" })
    await waitUntil("the observer saw every move", () => versions.at(-1) === 4)
    expect(versions).toEqual([1, 2, 3, 4])
    feed.close()
  })
})

describe("two instances, one killed", () => {
  const prefix = testPrefix("client-sdk-kill")
  // A is a process of its own, to be SIGKILLed; B serves from this one.
  let a: ServiceProcess
  let b: Instance
  beforeAll(async () => {
    ;[a, b] = await Promise.all([spawnService("api", { REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn" }), startInstance(prefix)])
  })
  afterAll(async () => {
    a?.child.kill("SIGKILL")
    await b?.stop()
    await deleteKeysWithPrefix(prefix)
  })

  it("resumes on the other instance without a gap or a duplicate", async () => {
    const client = new SyncKairos({ baseUrl: [a.baseUrl, b.baseUrl], WebSocket })
    const writer = new SyncKairos({ baseUrl: b.baseUrl })
    const created = await chess(client, 60)
    const id = created.session_id
    await client.start(id)

    const versions: Array<number> = []
    const connections: Array<ConnectionState> = []
    let latest: SessionState | undefined
    const feed = client.follow(id, {
      onState: (state) => {
        versions.push(state.version)
        latest = state
      },
      onConnection: (c) => connections.push(c)
    }, { backoff: { initialMs: 50, maxMs: 500 } })
    await waitUntil("the feed is live", () => feed.connection === "live")

    let writing = true
    const moves = (async () => {
      while (writing) await writer.switchTurn(id)
    })()
    await waitUntil("20 moves arrived", () => versions.length >= 20)
    a.child.kill("SIGKILL")
    await a.exited
    await waitUntil("the feed came back, on B", () => connections.at(-1) === "live" && connections.includes("reconnecting"))
    const atResume = versions.length
    await waitUntil("20 more moves arrived", () => versions.length >= atResume + 20)
    writing = false
    await moves

    const final = (await writer.getSession(id)).version
    await waitUntil("the feed reached the last version", () => latest?.version === final)
    expect(connections).toEqual(["live", "reconnecting", "live"])
    feed.close()
    expect(versions).toEqual(Array.from({ length: final - versions[0]! + 1 }, (_, i) => versions[0]! + i))
  })
})
