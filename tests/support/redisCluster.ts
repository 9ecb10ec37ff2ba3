/**
 * A Redis Cluster of a test's own: `redis-server` processes on free ports joined with
 * `redis-cli --cluster create`, killed and their files removed by `stop`. Optionally one replica per
 * master (for failover tests) and a TCP proxy in front of each node (for tests that silence
 * connections): the nodes then announce the proxies' ports, so clients reach them only through those.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts"

const execFileAsync = promisify(execFile)

export interface RedisClusterOptions {
  readonly masters?: number
  readonly replicasPerMaster?: 0 | 1
  readonly proxied?: boolean
  /** How long a node may not answer before it counts as failing: bounds a failover's duration. */
  readonly nodeTimeoutMs?: number
}

export interface ClusterNodeInfo {
  readonly id: string
  /** The port clients reach the node on (its proxy's, when proxied). */
  readonly port: number
  readonly role: "master" | "replica"
  /** For a replica, its master's id. */
  readonly masterId: string | undefined
  /** The hash slots it serves (masters), as inclusive ranges. */
  readonly slotRanges: ReadonlyArray<readonly [number, number]>
  /** How many slots those are. */
  readonly slots: number
}

export interface RedisCluster {
  /** `host:port` seeds as REDIS_CLUSTER_NODES takes them. */
  readonly seedList: string
  readonly seeds: ReadonlyArray<{ readonly host: string; readonly port: number }>
  readonly proxies: ReadonlyArray<TcpProxy>
  /** Runs redis-cli against the node clients reach on `port`. */
  readonly cli: (port: number, ...args: ReadonlyArray<string>) => Promise<string>
  /** The cluster's nodes as a live node sees them. */
  readonly nodes: () => Promise<ReadonlyArray<ClusterNodeInfo>>
  /** SIGKILL of the node clients reach on `port`: a crash. */
  readonly kill: (port: number) => Promise<void>
  /** Waits until every live node says the cluster is ok (every slot served). */
  readonly waitUntilOk: (timeoutMs?: number) => Promise<void>
  readonly stop: () => Promise<void>
}

/** Binds `port` (0 = any) to prove it is free, and returns the port bound. */
const bindable = (port: number) =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/** A free port whose cluster bus port (+10000) is free too. */
const clusterPort = async (): Promise<number> => {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 20000)
    try {
      await bindable(port)
      await bindable(port + 10000)
      return port
    } catch {
      continue
    }
  }
}

/** Retries `attempt` every 50 ms until it passes or `timeoutMs` has gone by. */
export const retryUntil = async <A>(attempt: () => Promise<A>, timeoutMs = 5000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await attempt()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** One line of CLUSTER NODES: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slots>...` */
const parseNodeLine = (line: string): ClusterNodeInfo & { readonly failed: boolean } => {
  const [id, address, flags, master, , , , , ...slots] = line.split(" ")
  const port = Number(/:(\d+)@/.exec(address!)?.[1])
  const slotRanges = slots
    .filter((range) => !range.startsWith("[")) // a slot being migrated
    .map((range) => {
      const [from, to] = range.split("-").map(Number) as [number, number | undefined]
      return [from, to ?? from] as const
    })
  return {
    id: id!,
    port,
    role: flags!.includes("master") ? "master" : "replica",
    masterId: master === "-" ? undefined : master,
    slotRanges,
    slots: slotRanges.reduce((sum, [from, to]) => sum + to - from + 1, 0),
    failed: /fail/.test(flags!)
  }
}

export const startRedisCluster = async (options: RedisClusterOptions = {}): Promise<RedisCluster> => {
  const masters = options.masters ?? 3
  const replicas = options.replicasPerMaster ?? 0
  const directory = await mkdtemp(join(tmpdir(), "sk-cluster-"))
  const ports: Array<number> = []
  for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await clusterPort())
  const proxies = options.proxied === true ? await Promise.all(ports.map(startTcpProxy)) : []
  // What clients reach each node on: its proxy's port, or its own.
  const reachable = ports.map((port, i) => proxies[i]?.port ?? port)
  const children = new Map<number, ChildProcess>()
  for (const [i, port] of ports.entries()) {
    const child = spawn("redis-server", [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--cluster-enabled", "yes",
      "--cluster-node-timeout", String(options.nodeTimeoutMs ?? 15_000),
      "--cluster-announce-port", String(reachable[i]),
      "--cluster-announce-bus-port", String(port + 10000),
      "--cluster-config-file", `nodes-${port}.conf`,
      "--dir", directory,
      "--save", "",
      "--appendonly", "no",
      "--maxmemory-policy", "noeviction"
    ], { stdio: "ignore" })
    children.set(reachable[i]!, child)
  }

  const cli = async (port: number, ...args: ReadonlyArray<string>) => (await execFileAsync("redis-cli", ["-p", String(port), ...args])).stdout
  const alive = () => [...children].filter(([, child]) => child.exitCode === null && child.signalCode === null).map(([port]) => port)

  const nodes = async () => {
    const text = await cli(alive()[0]!, "cluster", "nodes")
    return text.trim().split("\n").map(parseNodeLine).filter((node) => !node.failed).map(({ failed: _, ...node }) => node)
  }

  const waitUntilOk = async (timeoutMs = 15_000) => {
    for (const port of alive()) {
      await retryUntil(async () => {
        if (!(await cli(port, "cluster", "info")).includes("cluster_state:ok")) throw new Error(`node ${port}: cluster not ok`)
      }, timeoutMs)
    }
  }

  const stop = async () => {
    for (const child of children.values()) child.kill("SIGKILL")
    await Promise.all(proxies.map((proxy) => proxy.close()))
    await rm(directory, { recursive: true, force: true })
  }

  try {
    for (const port of ports) {
      await retryUntil(async () => {
        if (!(await cli(port, "ping")).includes("PONG")) throw new Error(`node ${port} does not answer`)
      })
    }
    await execFileAsync("redis-cli", [
      "--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas", String(replicas), "--cluster-yes"
    ])
    await waitUntilOk()
    if (replicas > 0) {
      await retryUntil(async () => {
        const known = await nodes()
        const synced = await Promise.all(
          known.filter((node) => node.role === "replica").map(async (node) => (await cli(node.port, "info", "replication")).includes("master_link_status:up"))
        )
        if (synced.length !== masters * replicas || !synced.every(Boolean)) throw new Error("replicas not in sync yet")
      }, 15_000)
    }
  } catch (error) {
    await stop()
    throw error
  }

  const seeds = reachable.slice(0, masters).map((port) => ({ host: "127.0.0.1", port }))
  return {
    seedList: seeds.map(({ host, port }) => `${host}:${port}`).join(","),
    seeds,
    proxies,
    cli,
    nodes,
    kill: async (port) => {
      const child = children.get(port)
      if (child === undefined) throw new Error(`no node on ${port}`)
      child.kill("SIGKILL")
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once("exit", resolve)))
    },
    waitUntilOk,
    stop
  }
}
