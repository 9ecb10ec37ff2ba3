import { Context, Layer } from "effect"
import type { FastifyInstance } from "fastify"
import { readdir } from "node:fs/promises"
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client"

/** Why the server ended a WebSocket, as counted by `synckairos_ws_closed_total`. */
export type CloseReason = "slow_consumer" | "dead_peer" | "invalid_messages" | "session_deleted" | "shutdown"

/**
 * prom-client's defaults that walk every handle or file descriptor of the process on the event loop,
 * about 1 µs each: with 10,000 sockets a scrape stalled every feed of the instance for 10 to 25 ms.
 * Sockets are counted by synckairos_ws_connected_sockets; open descriptors are still counted, off the
 * event loop.
 */
const PER_HANDLE_METRICS = ["nodejs_active_handles", "nodejs_active_handles_total", "nodejs_active_resources", "nodejs_active_resources_total"]
const OPEN_FDS = "process_open_fds"

const withoutPerHandleScans = (registry: Registry) => {
  for (const name of PER_HANDLE_METRICS) registry.removeSingleMetric(name)
  // prom-client registers it on Linux only, where /proc/self/fd exists.
  if (registry.getSingleMetric(OPEN_FDS) === undefined) return
  registry.removeSingleMetric(OPEN_FDS)
  new Gauge({
    name: OPEN_FDS,
    help: "Number of open file descriptors.",
    registers: [registry],
    async collect() {
      try {
        // The descriptor readdir itself holds is in the listing.
        this.set((await readdir("/proc/self/fd")).length - 1)
      } catch {
        // A /proc that cannot be read leaves the last count, as prom-client's own gauge does.
      }
    }
  })
}

const make = () => {
  // One registry per runtime, not prom-client's global one: tests run several servers in one process.
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  withoutPerHandleScans(registry)
  return {
    registry,
    connectedSockets: new Gauge({
      name: "synckairos_ws_connected_sockets",
      help: "WebSocket feeds open on this instance",
      registers: [registry]
    }),
    eventsFannedOut: new Counter({
      name: "synckairos_ws_events_fanned_out_total",
      help: "Live events sent to WebSocket clients (one per event and socket)",
      registers: [registry]
    }),
    deliveryLag: new Histogram({
      name: "synckairos_ws_delivery_lag_seconds",
      help: "From an event's commit in Redis to its send on a socket, on the Redis clock",
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry]
    }),
    closed: new Counter({
      name: "synckairos_ws_closed_total",
      help: "WebSockets the server closed, by reason",
      labelNames: ["reason"] as const,
      registers: [registry]
    })
  }
}

/** Prometheus metrics of this instance, served as text at GET /metrics. */
export class Metrics extends Context.Service<Metrics, ReturnType<typeof make>>()("synckairos/app/Metrics") {
  static readonly layer = Layer.sync(Metrics, make)
}

export const metricsRoutes = (metrics: Metrics["Service"]) => async (app: FastifyInstance) => {
  app.get("/metrics", { schema: { tags: ["operations"], summary: "Prometheus metrics of this instance" } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()))
}

