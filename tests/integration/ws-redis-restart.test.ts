/**
 * Two real instances on a Redis of the test's own, which crashes and restarts (AOF) while events
 * flow: the fan-out readers resume from the last id they read, so no subscriber misses an event.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { sessionBody } from "../support/app.ts"
import { post, waitUntil } from "../support/instances.ts"
import { type ServiceProcess, spawnService } from "../support/process.ts"
import { type OwnRedis, startOwnRedis } from "../support/redisServer.ts"
import { type TrackedClient, trackSession } from "../support/ws.ts"

let redis: OwnRedis
let instances: Array<ServiceProcess> = []
beforeAll(async () => {
  redis = await startOwnRedis()
  instances = await Promise.all([1, 2].map(() => spawnService("api", { REDIS_URL: redis.url, LOG_LEVEL: "warn" })))
})
afterAll(async () => {
  for (const instance of instances) instance.child.kill("SIGKILL")
  await redis?.stop()
})

it("loses no event for any subscriber when Redis crashes and comes back", async () => {
  const [a, b] = instances as [ServiceProcess, ServiceProcess]
  const bodies = [1, 2, 3].map(() => sessionBody("per_participant", 2, { total_time_ms: 3_600_000 }))
  for (const body of bodies) {
    expect((await post(a.baseUrl, "/v1/sessions", body)).status).toBe(201)
    expect((await post(a.baseUrl, `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
  }
  const urls = [a.baseUrl, b.baseUrl]
  const clients: Array<TrackedClient> = await Promise.all(
    bodies.flatMap((body) => urls.map((url) => trackSession(url, body.session_id, () => urls)))
  )
  await waitUntil("every client has its state", () => clients.every((client) => client.syncs() === 1))

  // Switches go on through the outage; those Redis cannot take fail with 503 and are not retried.
  let writing = true
  let failed = 0
  const writers = bodies.map(async (body, i) => {
    for (let n = i; writing; n++) {
      const response = await post(urls[n % 2]!, `/v1/sessions/${body.session_id}/switch`).catch(() => undefined)
      if (response?.status !== 200) failed++
      await response?.arrayBuffer()
      if (response?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })
  const seenBy = (count: number) => () => clients.every((client) => client.versions.length >= count)
  await waitUntil("events flow", seenBy(30))
  // Down for twice the time a queued command waits for Redis (about 1.5 s of reconnects) before it
  // fails, so that some commands surely meet the outage.
  await redis.crashAndRestart(3000)
  const afterRestart = Math.max(...clients.map((client) => client.versions.length))
  await waitUntil("events flow again", seenBy(afterRestart + 30))
  writing = false
  await Promise.all(writers)

  expect(failed).toBeGreaterThan(0) // commands really met the outage
  for (const [i, body] of bodies.entries()) {
    const read = (await (await fetch(`${a.baseUrl}/v1/sessions/${body.session_id}`)).json()) as { data: { version: number } }
    const mine = clients.slice(i * 2, i * 2 + 2)
    await waitUntil("every client reached the last version", () => mine.every((client) => client.lastVersion() === read.data.version))
    for (const client of mine) {
      expect(client.syncs()).toBe(1)
      expect(client.lostWith).toEqual([])
      expect(client.versions).toEqual(Array.from({ length: read.data.version - 2 }, (_, v) => v + 3))
    }
  }
  await Promise.all(clients.map((client) => client.stop()))
})
