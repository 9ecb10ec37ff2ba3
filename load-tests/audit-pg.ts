/**
 * PostgreSQL's CPU per audited event: `npx tsx load-tests/audit-pg.ts [--checkout name=dir ...] [--runs N]
 * [--sessions N] [--switches N] [--batch-events N] [--concurrency N]`.
 *
 * Only the writing side, without Redis or BullMQ: on a PostgreSQL server of its own (initdb in a
 * temporary directory, so its processes' CPU is this workload's alone) each run creates a database,
 * applies the checkout's migrations, writes the sessions' creation and start, then writes the
 * switches through the checkout's `AuditRepository.writeBatch` and reads the server's CPU (every
 * PostgreSQL process, /proc) around them. The batches are what the projector makes of switches
 * offered round-robin over the sessions (as k6's switch.js does): each shard's events cut into
 * batches of `--batch-events` (at 500 switches/s over 16 shards, a 100 ms linger makes batches of
 * about 4), with the latest snapshot of each session in the batch; `--concurrency` jobs at once, as
 * the worker runs them. With several checkouts, each run goes through them in turn (same sitting,
 * same batches); medians per checkout.
 */
import path from "node:path"
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import { Effect, Layer, ManagedRuntime, Result } from "effect"
import { type Command, decide, eventPayload, evolve, type SessionState } from "../src/domain/index.ts"
import type { AuditBatch, AuditEvent, AuditSnapshot } from "../src/infra/audit/AuditBatch.ts"
import type { readSettings as readSettingsType } from "../src/app/AppConfig.ts"
import type { AuditSettings as AuditSettingsType } from "../src/infra/audit/AuditSettings.ts"
import type { AuditRepository as AuditRepositoryType } from "../src/infra/pg/AuditRepository.ts"
import { median } from "./harness/report.ts"
import { processTreeCpuSeconds } from "./harness/resources.ts"
import { startOwnPostgres } from "../tests/support/postgresServer.ts"

const { values } = parseArgs({
  options: {
    checkout: { type: "string", multiple: true, default: ["this=."] },
    runs: { type: "string", default: "3" },
    sessions: { type: "string", default: "200" },
    switches: { type: "string", default: "10000" },
    "batch-events": { type: "string", default: "4" },
    concurrency: { type: "string", default: "4" },
    shards: { type: "string", default: "16" }
  }
})
const DAY_MS = 86_400_000
const runs = Number(values.runs)
const sessionCount = Number(values.sessions)
const switchCount = Number(values.switches)
const batchEvents = Number(values["batch-events"])
const concurrency = Number(values.concurrency)
const shards = Number(values.shards)

interface Checkout {
  readonly name: string
  readonly dir: string
}
const checkouts: ReadonlyArray<Checkout> = values.checkout.map((spec) => {
  const [name, dir] = spec.split("=")
  return { name: name!, dir: path.resolve(dir ?? ".") }
})

/** One session's next events and snapshot, decided by the domain as the service would. */
class SessionModel {
  state: SessionState | null = null
  version = 0
  incarnation = ""
  private lastMs = 0

  constructor(readonly sessionId: string, readonly shard: number) {}

  apply(command: Command, now: number): Array<AuditEvent> {
    const decision = decide(this.state, command, this.sessionId, now)
    if (Result.isFailure(decision)) throw new Error(`${command.type} refused: ${String(decision.failure)}`)
    return decision.success.map((event) => {
      this.state = evolve(this.state, event)
      this.version += 1
      this.lastMs = Math.max(this.lastMs + 1, now)
      const eventId = `${this.lastMs}-0`
      if (this.version === 1) this.incarnation = eventId
      return {
        sessionId: this.sessionId,
        incarnation: this.incarnation,
        version: this.version,
        eventId,
        type: event.type,
        at: event.at,
        payload: JSON.stringify(eventPayload(event))
      }
    })
  }

  snapshot(): AuditSnapshot {
    return { sessionId: this.sessionId, incarnation: this.incarnation, version: this.version, state: JSON.stringify(this.state) }
  }
}

/** Jobs as the projector makes them: per shard, consecutive events; per session, its latest snapshot. */
const batchesOf = (events: ReadonlyArray<{ event: AuditEvent; snapshot: AuditSnapshot; shard: number }>): Array<AuditBatch> => {
  const open = new Map<number, Array<{ event: AuditEvent; snapshot: AuditSnapshot }>>()
  const batches: Array<AuditBatch> = []
  const close = (items: ReadonlyArray<{ event: AuditEvent; snapshot: AuditSnapshot }>) => {
    const latest = new Map(items.map((item) => [item.event.sessionId, item.snapshot]))
    batches.push({ events: items.map((item) => item.event), snapshots: [...latest.values()] })
  }
  for (const item of events) {
    const pending = open.get(item.shard) ?? []
    pending.push(item)
    open.set(item.shard, pending)
    if (pending.length === batchEvents) {
      close(pending)
      open.delete(item.shard)
    }
  }
  for (const pending of open.values()) close(pending)
  return batches
}

const workload = () => {
  let now = Date.now() - 3_600_000
  const models = Array.from({ length: sessionCount }, (_, i) => {
    const sessionId = crypto.randomUUID()
    return { model: new SessionModel(sessionId, i % shards), sessionId }
  })
  const setup: Array<{ event: AuditEvent; snapshot: AuditSnapshot; shard: number }> = []
  // Two clocks of a day each, as the benches' sessions.
  for (const { model, sessionId } of models) {
    const input = {
      sessionId,
      syncMode: "per_participant" as const,
      totalTimeMs: DAY_MS,
      participants: [crypto.randomUUID(), crypto.randomUUID()].map((participantId) => ({ participantId, totalTimeMs: DAY_MS }))
    }
    for (const command of [{ type: "CreateSession", input } as const, { type: "StartSession" } as const]) {
      for (const event of model.apply(command, (now += 1))) setup.push({ event, snapshot: model.snapshot(), shard: model.shard })
    }
  }
  const switches: Array<{ event: AuditEvent; snapshot: AuditSnapshot; shard: number }> = []
  for (let i = 0; i < switchCount; i++) {
    const { model } = models[i % models.length]!
    for (const event of model.apply({ type: "SwitchCycle" }, (now += 2))) switches.push({ event, snapshot: model.snapshot(), shard: model.shard })
  }
  return { setup: batchesOf(setup), switches: batchesOf(switches), events: switches.length }
}

interface CheckoutModules {
  readonly AuditRepository: typeof AuditRepositoryType
  readonly AuditSettings: typeof AuditSettingsType
  readonly readSettings: typeof readSettingsType
}

const modulesOf = async (checkout: Checkout): Promise<CheckoutModules> => {
  const load = (file: string) => import(pathToFileURL(path.join(checkout.dir, file)).href)
  const [repository, settings, config] = await Promise.all([
    load("src/infra/pg/AuditRepository.ts"),
    load("src/infra/audit/AuditSettings.ts"),
    load("src/app/AppConfig.ts")
  ])
  return { AuditRepository: repository.AuditRepository, AuditSettings: settings.AuditSettings, readSettings: config.readSettings }
}

/** Runs the batches `concurrency` at a time, in order, as the worker takes jobs. */
const writeAll = async (write: (batch: AuditBatch) => Promise<unknown>, batches: ReadonlyArray<AuditBatch>) => {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < batches.length; i = next++) await write(batches[i]!)
  }))
}

const main = async () => {
  const server = await startOwnPostgres({ durable: true })
  const results = new Map<string, Array<{ cpuUsPerEvent: number; wallMs: number }>>()
  try {
    const modules = new Map(await Promise.all(checkouts.map(async (c) => [c.name, await modulesOf(c)] as const)))
    for (let run = 1; run <= runs; run++) {
      const { setup, switches, events } = workload()
      for (const checkout of checkouts) {
        const { AuditRepository, AuditSettings, readSettings } = modules.get(checkout.name)!
        const database = `audit_pg_${checkout.name.replace(/\W/g, "_")}_${run}`
        const settings = readSettings({ databaseUrl: server.databaseUrl(database), databaseAutoMigrate: true, auditWorkerConcurrency: concurrency })
        const runtime = ManagedRuntime.make(AuditRepository.layer.pipe(Layer.provide(Layer.unwrap(Effect.map(settings, AuditSettings.layerFrom)))))
        const write = (batch: AuditBatch) =>
          runtime.runPromise(Effect.flatMap(Effect.service(AuditRepository), (r) => r.writeBatch(batch)))
        try {
          await writeAll(write, setup)
          // Let the background writers settle after the setup (and the migrations' catalog work).
          await new Promise((resolve) => setTimeout(resolve, 1000))
          const before = await processTreeCpuSeconds(server.pid())
          const t0 = performance.now()
          await writeAll(write, switches)
          const wallMs = performance.now() - t0
          const after = await processTreeCpuSeconds(server.pid())
          const cpuUsPerEvent = Math.round((((after ?? 0) - (before ?? 0)) * 1e6) / events)
          results.set(checkout.name, [...(results.get(checkout.name) ?? []), { cpuUsPerEvent, wallMs }])
          console.log(`run ${run} ${checkout.name}: ${events} events in ${switches.length} batches, ` +
            `PostgreSQL ${cpuUsPerEvent} µs CPU per event, ${Math.round(wallMs)} ms`)
        } finally {
          await runtime.dispose()
          await server.dropDatabase(database)
        }
      }
    }
  } finally {
    await server.close()
  }
  console.log(`\nmedians of ${runs} runs (${sessionCount} sessions, ${batchEvents} events per batch, concurrency ${concurrency})`)
  for (const [name, rows] of results) {
    console.log(`  ${name}: PostgreSQL ${median(rows.map((r) => r.cpuUsPerEvent))} µs CPU per event, ` +
      `${Math.round(median(rows.map((r) => r.wallMs)))} ms wall`)
  }
}

await main()
