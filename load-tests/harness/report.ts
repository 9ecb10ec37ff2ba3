import { mkdir, writeFile } from "node:fs/promises"
import path from "node:path"
import type { CpuUsage } from "./resources.ts"
import type { OfferedLoad, RunStats } from "./scenario.ts"

export interface RunRecord {
  readonly scenario: string
  readonly run: number
  readonly stats: RunStats
  readonly cpu: CpuUsage
}

/** The statistics shown per run and whose median over the runs is reported. */
export interface Row {
  readonly count: number
  readonly errors: number
  readonly throughput: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
  /** Open loop only: requests sent more than 1 ms after their scheduled instant. */
  readonly lateStarts: number | null
  readonly serviceCpuPct: number | null
  readonly redisCpuPct: number | null
  readonly generatorCpuPct: number
  /** The whole machine's busy share (all cores together = 100 %). */
  readonly machineBusyPct: number | null
  /** CPU of everything else on the box (other processes), share of one core. */
  readonly otherCpuPct: number | null
  readonly serviceUsPerReq: number | null
  readonly redisUsPerReq: number | null
}

export const rowOf = ({ stats, cpu }: RunRecord): Row => ({
  count: stats.count,
  errors: stats.errors,
  throughput: Math.round(stats.throughput * 10) / 10,
  p50: stats.latency.p50,
  p95: stats.latency.p95,
  p99: stats.latency.p99,
  max: stats.latency.max,
  lateStarts: "lateStarts" in stats ? stats.lateStarts : null,
  serviceCpuPct: cpu.service?.percentOfCore ?? null,
  redisCpuPct: cpu.redis?.percentOfCore ?? null,
  generatorCpuPct: cpu.generator.percentOfCore,
  machineBusyPct: cpu.machineBusyPct,
  otherCpuPct: cpu.otherCpuPct,
  serviceUsPerReq: cpu.service?.usPerRequest ?? null,
  redisUsPerReq: cpu.redis?.usPerRequest ?? null
})

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  if (sorted.length === 0) return Number.NaN
  const value = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return Math.round(value * 1000) / 1000
}

const medianOrNull = (values: ReadonlyArray<number | null>): number | null =>
  values.some((v) => v === null) ? null : median(values as ReadonlyArray<number>)

/** The median of each statistic over the runs, statistic by statistic. */
export const medianRow = (rows: ReadonlyArray<Row>): Row => ({
  count: median(rows.map((r) => r.count)),
  errors: median(rows.map((r) => r.errors)),
  throughput: median(rows.map((r) => r.throughput)),
  p50: median(rows.map((r) => r.p50)),
  p95: median(rows.map((r) => r.p95)),
  p99: median(rows.map((r) => r.p99)),
  max: median(rows.map((r) => r.max)),
  lateStarts: medianOrNull(rows.map((r) => r.lateStarts)),
  serviceCpuPct: medianOrNull(rows.map((r) => r.serviceCpuPct)),
  redisCpuPct: medianOrNull(rows.map((r) => r.redisCpuPct)),
  generatorCpuPct: median(rows.map((r) => r.generatorCpuPct)),
  machineBusyPct: medianOrNull(rows.map((r) => r.machineBusyPct)),
  otherCpuPct: medianOrNull(rows.map((r) => r.otherCpuPct)),
  serviceUsPerReq: medianOrNull(rows.map((r) => r.serviceUsPerReq)),
  redisUsPerReq: medianOrNull(rows.map((r) => r.redisUsPerReq))
})

const fixed = (digits: number) => (v: number | null) => (v === null ? "-" : v.toFixed(digits))
const int = (v: number | null) => (v === null ? "-" : String(Math.round(v)))

const COLUMNS: ReadonlyArray<{ title: string; cell: (r: Row) => string }> = [
  { title: "count", cell: (r) => int(r.count) },
  { title: "errors", cell: (r) => int(r.errors) },
  { title: "req/s", cell: (r) => fixed(1)(r.throughput) },
  { title: "p50 ms", cell: (r) => fixed(2)(r.p50) },
  { title: "p95 ms", cell: (r) => fixed(2)(r.p95) },
  { title: "p99 ms", cell: (r) => fixed(2)(r.p99) },
  { title: "max ms", cell: (r) => fixed(2)(r.max) },
  { title: "late>1ms", cell: (r) => int(r.lateStarts) },
  { title: "svc cpu%", cell: (r) => fixed(0)(r.serviceCpuPct) },
  { title: "redis cpu%", cell: (r) => fixed(0)(r.redisCpuPct) },
  { title: "gen cpu%", cell: (r) => fixed(0)(r.generatorCpuPct) },
  { title: "other cpu%", cell: (r) => fixed(0)(r.otherCpuPct) },
  { title: "svc µs/req", cell: (r) => int(r.serviceUsPerReq) },
  { title: "redis µs/req", cell: (r) => int(r.redisUsPerReq) }
]

export interface TableLine {
  readonly scenario: string
  readonly run: string
  readonly row: Row
}

/** A fixed-width text table: scenario, run (or "median"), then the statistics. */
export const formatTable = (lines: ReadonlyArray<TableLine>): string => {
  const header = ["scenario", "run", ...COLUMNS.map((c) => c.title)]
  const body = lines.map((l) => [l.scenario, l.run, ...COLUMNS.map((c) => c.cell(l.row))])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)))
  const render = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  const rule = widths.map((w) => "-".repeat(w)).join("  ")
  const out = [render(header), rule]
  let previous: string | undefined
  for (let i = 0; i < body.length; i++) {
    const scenario = lines[i]!.scenario
    if (previous !== undefined && scenario !== previous) out.push(rule)
    previous = scenario
    out.push(render(body[i]!))
  }
  return out.join("\n")
}

export const describeOffered = (o: OfferedLoad): string => o.description

/** Writes the report as results/bench-<iso date>.json and results/latest.json; returns the first path. */
export const writeReport = async (dir: string, startedAt: Date, report: unknown): Promise<string> => {
  await mkdir(dir, { recursive: true })
  const stamp = startedAt.toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z")
  const text = `${JSON.stringify(report, null, 2)}\n`
  const file = path.join(dir, `bench-${stamp}.json`)
  await writeFile(file, text)
  await writeFile(path.join(dir, "latest.json"), text)
  return file
}
