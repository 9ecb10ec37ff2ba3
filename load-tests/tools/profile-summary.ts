/**
 * Summarises a V8 .cpuprofile (as written by `node --cpu-prof`, e.g. by `npm run bench -- --profile`):
 * self time by module (package, src/ folder, node internals) and the top functions. --from and --to
 * (seconds after the profile's start) keep the samples of a window only: a bench's measured part
 * rather than the process's start-up and the sockets' connecting (`npm run bench:ws -- --profile`
 * prints each profile's window).
 *
 *   npx tsx load-tests/tools/profile-summary.ts load-tests/results/profiles/<file>.cpuprofile [top] [--from S] [--to S]
 */
import { parseArgs } from "node:util"
import { parentsOf, readCpuProfile, selfTimes } from "../harness/cpuProfile.ts"

/** node_modules/<pkg> (scoped too), src/<folder>, node:internal, or the V8 pseudo-frames. */
export const moduleOf = (url: string, functionName: string): string => {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)"
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm !== null) return nm[1]!
  const src = /\/(src\/[^/]+(?:\/[^/]+)?)\//.exec(url)
  if (src !== null) return src[1]!
  if (url.startsWith("node:")) return "node:internal"
  return url.replace(/^file:\/\//, "")
}

/** A frame's file, short: the package-relative path, src/…, or the node: specifier. */
const fileOf = (url: string): string => {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+\/.*)$/.exec(url)
  if (nm !== null) return nm[1]!
  const src = /\/(src\/.*|load-tests\/.*)$/.exec(url)
  if (src !== null) return src[1]!
  return url
}

const main = () => {
  const { values, positionals } = parseArgs({
    options: { from: { type: "string", default: "0" }, to: { type: "string", default: "Infinity" } },
    allowPositionals: true
  })
  const [file, topText] = positionals
  const fromUs = Number(values.from) * 1e6
  const toUs = Number(values.to) * 1e6
  if (file === undefined || !(fromUs < toUs)) {
    console.error("usage: tsx load-tests/tools/profile-summary.ts <file.cpuprofile> [top] [--from S] [--to S]")
    process.exit(2)
  }
  const top = Number(topText ?? 30)
  const profile = readCpuProfile(file)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = parentsOf(profile)
  /** The nearest caller outside native code and Node's own modules: which library asked for it. */
  const jsCaller = (id: number): string => {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const frame = byId.get(p)?.callFrame
      if (frame !== undefined && frame.url !== "" && !frame.url.startsWith("node:")) {
        return `${frame.functionName || "(anonymous)"} ${fileOf(frame.url)}`
      }
    }
    return "(node internals only)"
  }
  const selfUs = selfTimes(profile, { fromUs: profile.startTime + fromUs, toUs: profile.startTime + toUs })
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
  const byModule = new Map<string, number>()
  const byFunction = new Map<string, number>()
  const nativeCallers = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (node === undefined) continue
    const { functionName, url, lineNumber } = node.callFrame
    const mod = moduleOf(url, functionName)
    byModule.set(mod, (byModule.get(mod) ?? 0) + us)
    const fn = `${functionName || "(anonymous)"}  ${url === "" ? mod : `${fileOf(url)}:${lineNumber + 1}`}`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
    if (url === "" && !functionName.startsWith("(")) {
      const key = `${functionName || "(anonymous)"}  <-  ${jsCaller(id)}`
      nativeCallers.set(key, (nativeCallers.get(key) ?? 0) + us)
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`
  const wall = (Math.min(profile.endTime - profile.startTime, toUs) - fromUs) / 1e6
  const idle = byModule.get("(idle)") ?? 0
  console.log(`${file}: ${wall.toFixed(1)} s profiled, ${((total - idle) / 1e6).toFixed(1)} s on CPU (idle excluded below)`)
  console.log("\nself time by module (share of the profile):")
  for (const [mod, us] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(us)}  ${mod}`)
  console.log(`\ntop ${top} functions by self time:`)
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${fn}`)
  console.log("\nnative functions (syscalls, V8 builtins) by their nearest caller outside node: internals:")
  for (const [fn, us] of [...nativeCallers].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${pct(us)}  ${fn}`)
}

main()
