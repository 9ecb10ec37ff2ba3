import { existsSync } from "node:fs"
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

/**
 * The demo pages' scripts and stylesheet, bundled from the SDK with esbuild. `npm run build` writes
 * them next to the compiled plugin (dist/app/demo/assets/); run from the TypeScript source (tests,
 * tsx), the plugin bundles them in memory once, so there is nothing to build first.
 */
export type DemoAssets = ReadonlyMap<string, string>

const ASSETS_DIR = fileURLToPath(new URL("./assets/", import.meta.url))
/** The pages' source: the same path from src/app/demo/ and from dist/app/demo/. */
const BROWSER_DIR = fileURLToPath(new URL("../../../src/app/demo/browser/", import.meta.url))

const ENTRY_POINTS = { chess: "chess.ts", countdown: "countdown.ts", demo: "demo.css" } as const

/** Bundles the pages (esbuild is a build-time dependency, loaded only here). */
export const bundleDemoAssets = async (): Promise<DemoAssets> => {
  const esbuild = await import("esbuild")
  const result = await esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(ENTRY_POINTS).map(([name, file]) => [name, `${BROWSER_DIR}${file}`])),
    bundle: true,
    format: "esm",
    target: ["es2020"],
    minify: true,
    write: false,
    outdir: ASSETS_DIR,
    logLevel: "silent"
  })
  return new Map(result.outputFiles.map((file) => [file.path.slice(file.path.lastIndexOf("/") + 1), file.text]))
}

/** Writes the bundle where the built plugin looks for it (run by `npm run build`, after tsc). */
export const writeDemoAssets = async (): Promise<void> => {
  const assets = await bundleDemoAssets()
  await mkdir(ASSETS_DIR, { recursive: true })
  await Promise.all([...assets].map(([name, text]) => writeFile(`${ASSETS_DIR}${name}`, text)))
}

let loading: Promise<DemoAssets> | undefined

/** The built bundle when there is one, else one bundled now (once per process). */
export const loadDemoAssets = (): Promise<DemoAssets> => {
  loading ??= existsSync(ASSETS_DIR)
    ? readdir(ASSETS_DIR).then(async (names) => new Map(await Promise.all(names.map(async (name) => [name, await readFile(`${ASSETS_DIR}${name}`, "utf8")] as const))))
    : bundleDemoAssets()
  return loading
}
