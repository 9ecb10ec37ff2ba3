import { Context, Effect, Layer } from "effect"

/** A shard log the projector of this process has been failing to read, since when and why. */
export interface UnreadableLog {
  readonly shard: number
  readonly sinceMs: number
  readonly error: string
}

/**
 * Which shard logs this process's projector cannot read right now, for readiness to name. Empty in a
 * process that runs no projector.
 */
export class ProjectorHealth extends Context.Service<ProjectorHealth, {
  readonly readFailed: (shard: number, error: string) => void
  readonly readSucceeded: (shard: number) => void
  readonly unreadable: Effect.Effect<ReadonlyArray<UnreadableLog>>
}>()("synckairos/infra/ProjectorHealth") {
  static readonly layer: Layer.Layer<ProjectorHealth> = Layer.sync(ProjectorHealth, () => {
    const failing = new Map<number, UnreadableLog>()
    return ProjectorHealth.of({
      readFailed: (shard, error) => {
        failing.set(shard, { shard, sinceMs: failing.get(shard)?.sinceMs ?? Date.now(), error })
      },
      readSucceeded: (shard) => {
        failing.delete(shard)
      },
      unreadable: Effect.sync(() => [...failing.values()])
    })
  })
}
