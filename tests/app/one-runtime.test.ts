/**
 * Every effect runs on the app's runtime (its ManagedRuntime, or a context captured from it), so that
 * its layers (the logger, the configuration) reach it: Effect's global runners are not used in src/.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

/** `Effect.runPromise(`, `Effect.runSync(`, `Effect.runFork(`...: every runner but the `...With(context)` ones. */
const GLOBAL_RUN = /\bEffect\.run(?!\w*With\b)\w*\b/g

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

const globalRunsIn = (path: string): Array<string> =>
  readFileSync(path, "utf8").split("\n").flatMap((line, i) =>
    [...line.matchAll(GLOBAL_RUN)].map((match) => `${relative(ROOT, path)}:${i + 1}: ${match[0]}`)
  )

it("runs no effect on Effect's global runtime", () => {
  const found = sourceFiles(join(ROOT, "src")).flatMap(globalRunsIn)
  expect(found).toEqual([])
})

it("finds a global run, and passes a run with the app's context", () => {
  expect("await Effect.runPromise(program)".match(GLOBAL_RUN)).toEqual(["Effect.runPromise"])
  expect("Effect.runSync(clock.nowMs) + Effect.runForkWith(context)(x)".match(GLOBAL_RUN)).toEqual(["Effect.runSync"])
  expect("Effect.runPromiseWith(context)(program)".match(GLOBAL_RUN)).toBeNull()
})
