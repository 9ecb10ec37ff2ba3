/**
 * Which Redis the service runs on: one node (`REDIS_URL`) or a Redis Cluster reached through a few
 * seed nodes (`REDIS_CLUSTER_NODES`). Parsed once at start, so a mistake is a start error that names
 * the variable, never a connection that fails later.
 */

export interface ClusterSeed {
  readonly host: string
  readonly port: number
}

export type RedisTarget =
  | { readonly _tag: "Standalone"; readonly url: string }
  | { readonly _tag: "Cluster"; readonly seeds: ReadonlyArray<ClusterSeed> }

export interface InvalidRedisTarget {
  readonly _tag: "Invalid"
  readonly reason: string
}

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"

/** `host:port`, or `[v6-address]:port`. */
const parseSeed = (text: string): ClusterSeed | string => {
  const match = /^(?:\[(?<v6>[^\]]+)\]|(?<host>[^:\s]+)):(?<port>\d{1,5})$/.exec(text)
  const host = match?.groups?.v6 ?? match?.groups?.host
  const port = Number(match?.groups?.port)
  if (host === undefined || !(port >= 1 && port <= 65_535)) return `"${text}" is not host:port`
  return { host, port }
}

/**
 * The target the two variables ask for (both empty: the local default node), or why they are wrong.
 * An empty variable counts as unset.
 */
export const redisTargetOf = (env: {
  readonly redisUrl: string
  readonly redisClusterNodes: string
}): RedisTarget | InvalidRedisTarget => {
  const url = env.redisUrl.trim()
  const nodes = env.redisClusterNodes.trim()
  if (nodes === "") return { _tag: "Standalone", url: url === "" ? DEFAULT_REDIS_URL : url }
  if (url !== "") {
    return {
      _tag: "Invalid",
      reason: "REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis node, or REDIS_CLUSTER_NODES for a Redis Cluster, not both"
    }
  }
  const seeds = nodes.split(",").map((seed) => parseSeed(seed.trim()))
  const wrong = seeds.filter((seed) => typeof seed === "string")
  return wrong.length > 0
    ? { _tag: "Invalid", reason: `REDIS_CLUSTER_NODES must be comma-separated host:port seeds: ${wrong.join(", ")}` }
    : { _tag: "Cluster", seeds: seeds.filter((seed) => typeof seed !== "string") }
}
