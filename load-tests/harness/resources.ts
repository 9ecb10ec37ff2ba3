import { readdir, readFile } from "node:fs/promises"
import os from "node:os"

const CLOCK_TICKS_PER_SECOND = 100 // USER_HZ on Linux

/** The fields of a /proc/<pid>/stat line after the parenthesised command name (which may hold spaces). */
const statFields = (stat: string): ReadonlyArray<string> => stat.slice(stat.lastIndexOf(")") + 2).split(" ")
// Indexes into statFields(); proc(5) numbers each field 3 higher (from 1, with pid and command first).
const PPID = 1
const UTIME = 11
const STIME = 12
const CUTIME = 13
const CSTIME = 14
const ticksOf = (fields: ReadonlyArray<string>, names: ReadonlyArray<number>) => names.reduce((sum, i) => sum + Number(fields[i]), 0)

/** User + system CPU seconds a process has used, from /proc (Linux); null where unreadable. */
export const processCpuSeconds = async (pid: number): Promise<number | null> => {
  try {
    return ticksOf(statFields(await readFile(`/proc/${pid}/stat`, "utf8")), [UTIME, STIME]) / CLOCK_TICKS_PER_SECOND
  } catch {
    return null
  }
}

/**
 * CPU seconds of a server as a whole: the process, its living descendants, and the children they have
 * reaped (cutime/cstime), e.g. PostgreSQL's postmaster with its backends, or Redis with a forked AOF
 * rewrite. A child that ends between two readings moves its time into its parent's cutime, so the
 * difference of two readings is exact. Null when the process is gone.
 */
export const processTreeCpuSeconds = async (rootPid: number): Promise<number | null> => {
  const entries = (await readdir("/proc")).filter((name) => /^\d+$/.test(name))
  const stats = await Promise.all(entries.map((pid) => readFile(`/proc/${pid}/stat`, "utf8").then((text) => ({ pid: Number(pid), text }), () => null)))
  const byParent = new Map<number, Array<number>>()
  const ticks = new Map<number, number>()
  for (const stat of stats) {
    if (stat === null) continue
    const fields = statFields(stat.text)
    const ppid = Number(fields[PPID])
    byParent.set(ppid, [...(byParent.get(ppid) ?? []), stat.pid])
    ticks.set(stat.pid, ticksOf(fields, [UTIME, STIME, CUTIME, CSTIME]))
  }
  if (!ticks.has(rootPid)) return null
  let total = 0
  const pending = [rootPid]
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    total += ticks.get(pid) ?? 0
    pending.push(...(byParent.get(pid) ?? []))
  }
  return total / CLOCK_TICKS_PER_SECOND
}

/** The whole machine's CPU time counters (all cores), from /proc/stat; null where unreadable. */
export interface MachineTicks {
  readonly busy: number
  readonly idle: number
  readonly steal: number
  readonly total: number
}

export const machineTicks = async (): Promise<MachineTicks | null> => {
  try {
    const line = (await readFile("/proc/stat", "utf8")).split("\n", 1)[0] ?? ""
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    const idleAll = (idle ?? 0) + (iowait ?? 0)
    const stealT = steal ?? 0
    const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)
    return { busy, idle: idleAll, steal: stealT, total: busy + idleAll + stealT }
  } catch {
    return null
  }
}

/** How busy the whole machine is over `ms` (all cores = 100 %), e.g. before a bench starts. */
export const machineBusyOver = async (ms: number): Promise<number | null> => {
  const a = await machineTicks()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const b = await machineTicks()
  if (a === null || b === null || b.total <= a.total) return null
  return Math.round(((b.busy - a.busy) / (b.total - a.total)) * 1000) / 10
}

export const selfCpuSeconds = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

/** CPU seconds of the children this process has waited for (cutime + cstime), e.g. a finished k6. */
export const reapedChildrenCpuSeconds = async (): Promise<number> => {
  return ticksOf(statFields(await readFile("/proc/self/stat", "utf8")), [CUTIME, CSTIME]) / CLOCK_TICKS_PER_SECOND
}

export interface MachineFacts {
  readonly cpuModel: string
  readonly cpuCount: number
  readonly ramBytes: number
  readonly ramGiB: number
  readonly os: string
  readonly node: string
  readonly loadAverage: ReadonlyArray<number>
}

export const machineFacts = (): MachineFacts => {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpuCount: cpus.length,
    ramBytes: os.totalmem(),
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100)
  }
}

/** The banner line every bench prints, so their reports name the machine the same way. */
export const describeMachine = (machine: MachineFacts, redisVersion: string): string =>
  `machine: ${machine.cpuModel} ×${machine.cpuCount}, ${machine.ramGiB} GiB, ${machine.os}, node ${machine.node}, redis ${redisVersion}`
