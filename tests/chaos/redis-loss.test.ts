/**
 * Redis loses its data under load, by FLUSHALL and by a restart without persistence. Afterwards every
 * event still in Redis is audited exactly once, the loss is reported, live feeds resync (a session
 * that is gone says so; one created again shows its new state), /ready is ready again, and nothing
 * answered 5xx but 503 while Redis was down.
 */
import { Redis } from "ioredis"
import { afterEach, expect, it } from "vitest"
import { call, sessionBody, startServer, type TestServer } from "../support/app.ts"
import { commandFlow } from "../support/audit.ts"
import { expectNoServerErrors, expectRedisEventsAuditedOnce } from "../support/chaos.ts"
import { testDatabaseUrl } from "../support/postgres.ts"
import { type RedisPersistence, startOwnRedis } from "../support/redisServer.ts"
import { type FeedClient, type Frame, ofType, openFeed } from "../support/ws.ts"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

const setUp = async (tag: string, persistence: RedisPersistence) => {
  const redis = await startOwnRedis({ persistence })
  cleanups.push(redis.stop)
  const server = await startServer(tag, { redisUrl: redis.url, auditReclaimIdleMs: 1000 }, "all")
  cleanups.push(server.close)
  return { redis, server }
}

/** A session with a feed open on it, and one more with the same done, whose id is created again after the loss. */
const followedSessions = async (server: TestServer) => {
  const feeds: Array<FeedClient> = []
  const ids: Array<string> = []
  const bodies = [sessionBody("per_participant"), sessionBody("per_participant")]
  for (const body of bodies) {
    expect((await call(server, "POST", "/v1/sessions", body)).status).toBe(201)
    expect((await call(server, "POST", `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
    expect((await call(server, "POST", `/v1/sessions/${body.session_id}/switch`)).status).toBe(200)
    const feed = await openFeed(server.baseUrl, { sessionId: body.session_id })
    await feed.waitFor(ofType("STATE_SYNC"))
    cleanups.push(feed.close)
    feeds.push(feed)
    ids.push(body.session_id)
  }
  return { feeds, ids, recreatedBody: bodies[1]! }
}

const isNotFound = (frame: Frame) => frame.type === "ERROR" && frame.code === "SESSION_NOT_FOUND"

const afterTheLoss = async (server: TestServer, redisUrl: string, flow: ReturnType<typeof commandFlow>, followed: Awaited<ReturnType<typeof followedSessions>>, allow503: boolean) => {
  const [gone, recreated] = followed.feeds
  // Created again under the same id: its feed shows the new session, from version 1.
  let created = 0
  for (let attempt = 0; attempt < 50 && created !== 201; attempt++) {
    created = (await call(server, "POST", "/v1/sessions", followed.recreatedBody)).status
    if (created !== 201) await sleep(200)
  }
  expect(created).toBe(201)
  // The feed learns of the loss when its reader next looks at the logs (every few seconds): after the
  // new session was created, it shows it; before, it says the session is not found, and a feed opened
  // now shows the new one.
  const isNewSession = (frame: Frame) => frame.type === "STATE_SYNC" && frame.state?.version === 1
  const seen = await recreated!.waitFor((frame) => isNewSession(frame) || isNotFound(frame), 20_000)
  if (isNotFound(seen)) {
    const reopened = await openFeed(server.baseUrl, { sessionId: followed.recreatedBody.session_id })
    cleanups.push(reopened.close)
    await reopened.waitFor(isNewSession, 20_000)
  }
  // Gone for good: its feed says so.
  await gone!.waitFor(isNotFound, 20_000)

  await sleep(2000)
  await flow.stop()
  expectNoServerErrors(flow.statuses, allow503)
  const checked = await expectRedisEventsAuditedOnce(server.prefix, redisUrl, testDatabaseUrl(), [...flow.ids, ...followed.ids])
  // A sanity bound only: how many commands a loaded machine gets through varies a lot.
  expect(checked).toBeGreaterThan(10)
  const deadline = Date.now() + 20_000
  let ready = await fetch(`${server.baseUrl}/ready`)
  while (ready.status !== 200 && Date.now() < deadline) {
    await sleep(500)
    ready = await fetch(`${server.baseUrl}/ready`)
  }
  expect(await ready.json()).toMatchObject({ status: "ready", checks: { audit: { alarms: [] } } })
  const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text()
  expect(metrics).toMatch(/^synckairos_audit_log_gaps_total\{shard="\d+"\} [1-9]/m)
}

it("FLUSHALL mid-load", async () => {
  const { redis, server } = await setUp("chaos-flushall", "always")
  const followed = await followedSessions(server)
  const flow = commandFlow(server.baseUrl, 4, 20)
  await sleep(3000)
  const admin = new Redis(redis.url, { protocol: 2 })
  await admin.flushall()
  admin.disconnect()
  await afterTheLoss(server, redis.url, flow, followed, false)
}, 120_000)

it("redis-server restarted without persistence", async () => {
  const { redis, server } = await setUp("chaos-restart-empty", "none")
  const followed = await followedSessions(server)
  const flow = commandFlow(server.baseUrl, 4, 20)
  await sleep(3000)
  await redis.crashAndRestart(1000)
  await afterTheLoss(server, redis.url, flow, followed, true)
}, 120_000)
