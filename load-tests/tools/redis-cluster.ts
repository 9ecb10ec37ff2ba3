/**
 * A local Redis Cluster for load runs by hand: 3 masters (`--masters N`), optionally one replica each
 * (`--replicas 1`), on free ports, from the test harness (tests/support/redisCluster.ts). Prints the
 * REDIS_CLUSTER_NODES value and the slots per master, then runs until Ctrl-C or SIGTERM, which stop
 * the nodes and delete their files.
 *
 *   npx tsx load-tests/tools/redis-cluster.ts [--masters 3] [--replicas 0|1]
 */
import { parseArgs } from "node:util"
import { startRedisCluster } from "../../tests/support/redisCluster.ts"

const { values } = parseArgs({ options: { masters: { type: "string", default: "3" }, replicas: { type: "string", default: "0" } } })
const cluster = await startRedisCluster({
  masters: Number(values.masters),
  replicasPerMaster: values.replicas === "1" ? 1 : 0,
  nodeTimeoutMs: 2000
})
console.log(`REDIS_CLUSTER_NODES=${cluster.seedList}`)
for (const node of await cluster.nodes()) console.log(`${node.role} 127.0.0.1:${node.port} slots=${node.slots}`)

const stop = () => cluster.stop().then(() => process.exit(0))
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
