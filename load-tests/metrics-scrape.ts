/**
 * How long a `/metrics` scrape holds the event loop of an instance with many sockets:
 * `npm run bench:metrics [-- --sockets N --scrapes K]`.
 *
 * Opens N loopback TCP connections in this process (2N descriptors and handles, as an instance holding
 * N WebSocket feeds has N), then scrapes the service's registry (`Metrics`) and, in the same run for
 * comparison, a registry with prom-client's full default metrics. A 1 ms ticker records the longest
 * gap of the event loop during each scrape: what every feed of the instance would wait.
 */
import { createServer, type Socket, connect } from "node:net"
import { parseArgs } from "node:util"
import { Effect, ManagedRuntime } from "effect"
import { collectDefaultMetrics, Registry } from "prom-client"
import { Metrics } from "../src/app/metrics.ts"
import { median } from "./harness/report.ts"

const { values } = parseArgs({ options: { sockets: { type: "string", default: "5000" }, scrapes: { type: "string", default: "9" } } })
const sockets = Number(values.sockets)
const scrapes = Number(values.scrapes)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const longestGapDuring = async (work: () => Promise<unknown>): Promise<number> => {
  let last = performance.now()
  let longest = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }, 1)
  await sleep(20)
  longest = 0
  last = performance.now()
  await work()
  await sleep(20)
  clearInterval(ticker)
  return longest
}

const server = createServer(() => {}).listen(0, "127.0.0.1")
await new Promise((resolve) => server.once("listening", resolve))
const { port } = server.address() as { port: number }
const clients: Array<Socket> = []
for (let i = 0; i < sockets; i++) {
  clients.push(connect(port, "127.0.0.1"))
  // Accepting takes the event loop too: let the backlog drain now and then.
  if (i % 500 === 499) await sleep(20)
}
await sleep(500)

const defaults = new Registry()
collectDefaultMetrics({ register: defaults })
const runtime = ManagedRuntime.make(Metrics.layer)
const service = (await runtime.runPromise(Effect.service(Metrics))).registry

console.log(`metrics scrape bench: ${sockets} connections (${process.getActiveResourcesInfo().length} active resources), ${scrapes} scrapes each, node ${process.version}`)
for (const [label, registry] of [["prom-client defaults", defaults], ["service registry", service]] as const) {
  const gaps: Array<number> = []
  for (let k = 0; k < scrapes; k++) gaps.push(await longestGapDuring(() => registry.metrics()))
  console.log(`${label.padEnd(22)} longest event-loop gap per scrape: p50 ${median(gaps).toFixed(1)} ms, max ${Math.max(...gaps).toFixed(1)} ms`)
}

for (const client of clients) client.destroy()
server.close()
await runtime.dispose()
