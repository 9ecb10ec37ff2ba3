import { mkdir, writeFile } from "node:fs/promises"
import path from "node:path"

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  if (sorted.length === 0) return Number.NaN
  const value = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return Math.round(value * 1000) / 1000
}

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

/** The median of the values present (neither null nor NaN); null when there is none. */
export const medianOfPresent = (values: ReadonlyArray<number | null>): number | null => {
  const present = values.filter((v): v is number => v !== null && !Number.isNaN(v))
  return present.length === 0 ? null : median(present)
}

/** A number with `digits` decimals, "-" when there is none. */
export const fixed = (digits: number) => (v: number | null | undefined): string =>
  v === null || v === undefined || Number.isNaN(v) ? "-" : v.toFixed(digits)

/** A fixed-width text table: the first `leftColumns` columns left-aligned, the rest right-aligned. */
export const textTable = (header: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>, leftColumns: number): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)))
  const render = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  return [render(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(render)].join("\n")
}

/** A column of a runs table: title, the statistic of a run, decimals. */
export type Column<R> = readonly [string, (run: R) => number | null, number]

/**
 * The runs of each group (a scenario, a server) as rows, each group followed by its median row when
 * it has more than one run; also the medians, by group and column title, for the report.
 */
export const runsTable = <R extends { readonly run: number }>(
  groupTitle: string,
  groups: ReadonlyArray<readonly [string, ReadonlyArray<R>]>,
  columns: ReadonlyArray<Column<R>>
): { readonly text: string; readonly medians: Record<string, Record<string, number | null>> } => {
  const lines: Array<Array<string>> = []
  const medians: Record<string, Record<string, number | null>> = {}
  for (const [group, runs] of groups) {
    for (const r of runs) lines.push([group, String(r.run), ...columns.map(([, pick, digits]) => fixed(digits)(pick(r)))])
    const mid = Object.fromEntries(columns.map(([title, pick]) => [title, medianOfPresent(runs.map(pick))]))
    medians[group] = mid
    if (runs.length > 1) lines.push([group, "median", ...columns.map(([title, , digits]) => fixed(digits)(mid[title]))])
  }
  return { text: textTable([groupTitle, "run", ...columns.map(([title]) => title)], lines, 2), medians }
}

/** A command-line number that must be positive (or zero, with `allowZero`), and whole with `integer`. */
export const positiveOption = (name: string, text: string, options: { readonly integer: boolean; readonly allowZero?: boolean }): number => {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || (options.allowZero !== true && value === 0) || (options.integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${options.integer ? "integer" : "number"}, got "${text}"`)
  }
  return value
}

/** Runs a bench's main and exits with its code; a bench that throws prints why and exits with 1. */
export const exitWith = async (main: () => Promise<number>): Promise<never> =>
  process.exit(await main().catch((error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    return 1
  }))
