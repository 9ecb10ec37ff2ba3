import { readFile } from "node:fs/promises"
import { type MachineTicks, machineTicks, processCpuSeconds } from "./resources.ts"

interface Sample {
  /** Epoch ms (Date.now()), the clock k6's scripts stamp their windows with. */
  readonly atMs: number
  readonly cpuSeconds: ReadonlyArray<number | null>
  readonly rssMb: ReadonlyArray<number | null>
  readonly machine: MachineTicks | null
}

const rssMb = async (pid: number): Promise<number | null> => {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8")
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 102.4) / 10
  } catch {
    return null
  }
}

/** The value at `atMs`, linear between the two samples around it; null outside the samples. */
const interpolate = (samples: ReadonlyArray<Sample>, atMs: number, pick: (s: Sample) => number | null): number | null => {
  const after = samples.findIndex((s) => s.atMs >= atMs)
  if (after <= 0) return after === 0 && samples[0]!.atMs === atMs ? pick(samples[0]!) : null
  const a = samples[after - 1]!
  const b = samples[after]!
  const x = pick(a)
  const y = pick(b)
  if (x === null || y === null) return null
  return x + ((y - x) * (atMs - a.atMs)) / (b.atMs - a.atMs)
}

/** What the processes used between two instants. */
export interface WindowCpu {
  /** CPU seconds of each tracked process, in tracking order; null where unreadable. */
  readonly seconds: ReadonlyArray<number | null>
  /** Peak RSS of each tracked process in the window (MB). */
  readonly peakRssMb: ReadonlyArray<number | null>
  /** CPU seconds the whole machine was busy (all cores), and the share stolen by the hypervisor (%). */
  readonly machineBusySeconds: number | null
  readonly stealPct: number | null
}

/**
 * The CPU (from /proc) of a set of processes, sampled every `intervalMs` on the epoch clock, so that a
 * window known only afterwards (k6 reports it in its summary) can be read from it. Linear
 * interpolation at the edges errs by at most one interval's CPU at each end.
 */
export class CpuTimeline {
  private readonly pids: Array<number> = []
  private readonly samples: Array<Sample> = []
  private timer: NodeJS.Timeout | undefined
  private running = false

  constructor(private readonly intervalMs = 100) {}

  /** Adds a process; earlier samples read it as unknown. Returns its index in `WindowCpu`. */
  track(pid: number): number {
    return this.pids.push(pid) - 1
  }

  start(): void {
    this.running = true
    const sample = async () => {
      const pids = [...this.pids]
      const atMs = Date.now()
      const [cpuSeconds, rss, machine] = await Promise.all([
        Promise.all(pids.map(processCpuSeconds)),
        Promise.all(pids.map(rssMb)),
        machineTicks()
      ])
      this.samples.push({ atMs, cpuSeconds, rssMb: rss, machine })
    }
    const loop = (): void => {
      if (this.running) this.timer = setTimeout(() => void sample().finally(loop), this.intervalMs)
    }
    void sample().finally(loop)
  }

  stop(): void {
    this.running = false
    clearTimeout(this.timer)
  }

  between(fromMs: number, toMs: number): WindowCpu {
    const inside = this.samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs)
    const seconds = this.pids.map((_, i) => {
      const pick = (s: Sample) => s.cpuSeconds[i] ?? null
      const a = interpolate(this.samples, fromMs, pick)
      const b = interpolate(this.samples, toMs, pick)
      return a === null || b === null ? null : b - a
    })
    const peakRssMb = this.pids.map((_, i) => {
      const values = inside.map((s) => s.rssMb[i]).filter((v): v is number => typeof v === "number")
      return values.length === 0 ? null : Math.max(...values)
    })
    const tick = (pick: (m: MachineTicks) => number) => (s: Sample) => (s.machine === null ? null : pick(s.machine))
    const delta = (pick: (m: MachineTicks) => number) => {
      const a = interpolate(this.samples, fromMs, tick(pick))
      const b = interpolate(this.samples, toMs, tick(pick))
      return a === null || b === null ? null : b - a
    }
    const busy = delta((m) => m.busy)
    const steal = delta((m) => m.steal)
    const total = delta((m) => m.total)
    // /proc/stat counts all cores in clock ticks (USER_HZ, 100 per second).
    return {
      seconds,
      peakRssMb,
      machineBusySeconds: busy === null ? null : busy / 100,
      stealPct: steal === null || total === null || total <= 0 ? null : Math.round((steal / total) * 1000) / 10
    }
  }
}
