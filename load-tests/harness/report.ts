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
