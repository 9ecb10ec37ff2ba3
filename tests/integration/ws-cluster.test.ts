/**
 * Three real instances sharing Redis: clients spread over all of them see every event of a busy
 * session in version order, and clients of an instance that is SIGKILLed (or SIGTERMed) reconnect to
 * another one with `since` and end up with every version exactly once.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { sessionBody } from "../support/app.ts"
import { post, waitUntil } from "../support/instances.ts"
import { type ServiceProcess, spawnService } from "../support/process.ts"
import { deleteKeysWithPrefix, testPrefix } from "../support/redis.ts"
import { type TrackedClient, trackSession } from "../support/ws.ts"

const prefix = testPrefix("ws-cluster")
let instances: Array<ServiceProcess> = []
beforeAll(async () => {
  instances = await Promise.all([1, 2, 3].map(() => spawnService("api", { REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn" })))
})
afterAll(async () => {
  for (const instance of instances) instance.child.kill("SIGKILL")
  await deleteKeysWithPrefix(prefix)
})

/** Every version from the client's starting state to `final`, each once, in order. */
const expectGapFree = (client: TrackedClient, final: number) => {
  expect(client.syncs()).toBe(1)
  expect(client.versions).toEqual(Array.from({ length: final - client.baseVersion() }, (_, i) => client.baseVersion() + 1 + i))
}

it("delivers a busy session gap-free to clients on every instance, through a SIGKILL and a SIGTERM", async () => {
  const [a, b, c] = instances as [ServiceProcess, ServiceProcess, ServiceProcess]
  const alive = new Set(instances.map((i) => i.baseUrl))
  const body = sessionBody("per_participant", 2, { total_time_ms: 3_600_000 })
  expect((await post(a.baseUrl, "/v1/sessions", body)).status).toBe(201)
  expect((await post(a.baseUrl, `/v1/sessions/${body.session_id}/start`)).status).toBe(200)

  const clientsOf = async (instance: ServiceProcess) =>
    Promise.all([1, 2, 3, 4].map(() => trackSession(instance.baseUrl, body.session_id, () => [...alive])))
  const [onA, onB, onC] = await Promise.all([clientsOf(a), clientsOf(b), clientsOf(c)]) as [
    Array<TrackedClient>,
    Array<TrackedClient>,
    Array<TrackedClient>
  ]
  const clients = [...onA, ...onB, ...onC]
  await waitUntil("every client has its state", () => clients.every((client) => client.syncs() === 1))

  // Two writers switch turns as fast as they can through whichever instances are up.
  let writing = true
  const writers = [0, 1].map(async (offset) => {
    for (let n = offset; writing; n += 2) {
      const targets = [...alive]
      const response = await post(targets[n % targets.length]!, `/v1/sessions/${body.session_id}/switch`).catch(() => undefined)
      await response?.arrayBuffer()
    }
  })
  const seenBy = (group: Array<TrackedClient>, count: number) => () => group.every((client) => client.versions.length >= count)

  await waitUntil("50 events reached every client", seenBy(clients, 50))
  alive.delete(c.baseUrl)
  c.child.kill("SIGKILL")
  await waitUntil("C's clients moved, and events went on", () => onC.every((client) => client.resumes() >= 1) && seenBy(clients, 150)())

  alive.delete(b.baseUrl)
  b.child.kill("SIGTERM")
  expect(await b.exited).toBe(0)
  await waitUntil("B's clients moved, and events went on", () => onB.every((client) => client.resumes() >= 1) && seenBy(clients, 250)())
  await waitUntil("the live feed went on after the moves", seenBy(clients, 350))

  writing = false
  await Promise.all(writers)
  const read = (await (await fetch(`${a.baseUrl}/v1/sessions/${body.session_id}`)).json()) as { data: { version: number } }
  const final = read.data.version
  await waitUntil("every client reached the last version", () => clients.every((client) => client.lastVersion() === final))
  await Promise.all(clients.map((client) => client.stop()))

  for (const client of clients) expectGapFree(client, final)
  expect(onA.every((client) => client.lostWith.length === 0)).toBe(true)
  // A crash is an abnormal closure (and a client that moved to B lost B later too, with 1012).
  expect(onC.every((client) => client.lostWith[0] === 1006 && client.lostWith.slice(1).every((code) => code === 1012))).toBe(true)
  // A graceful stop tells the clients to go elsewhere: 1012, service restart.
  expect(onB.map((client) => client.lostWith)).toEqual(onB.map(() => [1012]))
})
