/** Reading a V8 CPU profile (`node --cpu-prof`): its call tree and the time its samples stand for. */
import { readFileSync } from "node:fs"

export interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

export interface CpuProfile {
  /** µs on the monotonic clock that process.hrtime reads. */
  readonly startTime: number
  readonly endTime: number
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples?: ReadonlyArray<number>
  readonly timeDeltas?: ReadonlyArray<number>
}

export const readCpuProfile = (file: string): CpuProfile => JSON.parse(readFileSync(file, "utf8")) as CpuProfile

/** Each node's caller. */
export const parentsOf = (profile: CpuProfile): Map<number, number> => {
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  return parent
}

/**
 * Self time, µs, of each node over the samples taken within [fromUs, toUs) on the profile's clock
 * (default: all). A sample stands for the time until the next one (more exact than hitCount × the
 * mean interval).
 */
export const selfTimes = (profile: CpuProfile, window: { readonly fromUs: number; readonly toUs: number } = {
  fromUs: Number.NEGATIVE_INFINITY,
  toUs: Number.POSITIVE_INFINITY
}): Map<number, number> => {
  const self = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  let atUs = profile.startTime
  for (let i = 0; i < samples.length; i++) {
    atUs += deltas[i] ?? 0
    if (atUs < window.fromUs || atUs >= window.toUs) continue
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + Math.max(0, deltas[i + 1] ?? 0))
  }
  return self
}
