import { randomBytes } from "node:crypto"
import { RedisAdmin, type RedisFacts } from "./redis.ts"
import { describeMachine, type MachineFacts, machineFacts } from "./resources.ts"
import { type RunningService, type ServiceOptions, startService } from "./service.ts"

export interface CleanupReport {
  /** Exit codes of the instances still running at clean-up, in start order (null if killed). */
  readonly exitCodes: ReadonlyArray<number | null>
  /** Keys deleted under the run's prefix; null if Redis could not be asked. */
  readonly keysRemoved: number | null
}

type Step = () => Promise<unknown>

/**
 * One bench run and what it must undo however it ends (normal end, error, Ctrl-C or SIGTERM): the
 * instances it started, its keys in Redis under a random prefix, and whatever else it registers
 * (client sockets, a database of its own).
 */
export class BenchRun {
  readonly startedAt = new Date()
  readonly prefix = `skbench:${randomBytes(6).toString("hex")}:`
  readonly machine: MachineFacts = machineFacts()
  /** Set once a signal asked the run to stop: its numbers are partial. */
  interrupted = false
  private readonly services: Array<RunningService> = []
  private readonly beforeStop: Array<Step> = []
  private readonly afterStop: Array<Step> = []
  private done: Promise<CleanupReport> | undefined

  private constructor(readonly redis: RedisAdmin, readonly redisFacts: RedisFacts) {}

  /** Connects to Redis, prints the banner (`SyncKairos <title> — <date>` and the machine) and cleans up on a signal. */
  static async open(title: string, redisUrl: string): Promise<BenchRun> {
    const redis = await RedisAdmin.connect(redisUrl)
    const run = new BenchRun(redis, await redis.facts())
    console.log(`SyncKairos ${title} — ${run.startedAt.toISOString()}`)
    console.log(describeMachine(run.machine, run.redisFacts.version))
    // Later signals are ignored, not taken as "exit now": Ctrl-C reaches the whole process group and
    // tsx relays it, so a second SIGINT arrives at once and would cut the clean-up short. Clean-up is
    // bounded anyway: an instance that does not stop is killed.
    const onSignal = (signal: NodeJS.Signals) => {
      if (run.interrupted) return
      run.interrupted = true
      console.error(`\n${signal}: stopping the instances and deleting the bench keys…`)
      void run.cleanup().finally(() => process.exit(130))
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
    return run
  }

  /** Starts an instance that clean-up stops. */
  async start(options: ServiceOptions): Promise<RunningService> {
    const service = await startService(options)
    this.services.push(service)
    return service
  }

  /** Stops an instance before the end of the run. */
  async stop(service: RunningService): Promise<number | null> {
    this.services.splice(this.services.indexOf(service), 1)
    return service.stop()
  }

  /** Runs `step` at clean-up, before the instances stop (client sockets) or after them (a database). */
  atCleanup(when: "before instances stop" | "after instances stop", step: Step): void {
    ;(when === "before instances stop" ? this.beforeStop : this.afterStop).push(step)
  }

  /** Undoes everything once, however often it is called; a failing step does not skip the others. */
  cleanup(): Promise<CleanupReport> {
    this.done ??= (async () => {
      const attempt = (step: Step) => step().catch((error: unknown) => console.error(`clean-up step failed: ${String(error)}`))
      for (const step of this.beforeStop) await attempt(step)
      const exitCodes = await Promise.all(this.services.map((s) => s.stop().catch(() => null)))
      for (const step of this.afterStop) await attempt(step)
      const keysRemoved = await this.redis.deleteByPrefix(this.prefix).catch((error: unknown) => {
        console.error(`could not delete the bench keys ${this.prefix}*: ${String(error)}`)
        return null
      })
      await this.redis.close()
      return { exitCodes, keysRemoved }
    })()
    return this.done
  }

  /** Ends a run that threw: prints the error and the last lines of every instance still running, cleans up, and gives the exit code 1. */
  async failed(error: unknown): Promise<number> {
    console.error(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    for (const s of this.services) console.error(`--- log tail of pid ${s.pid} ---\n${s.logTail().join("\n")}`)
    await this.cleanup()
    return 1
  }
}
