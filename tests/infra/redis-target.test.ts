import { describe, expect, it } from "vitest"
import { DEFAULT_REDIS_URL, redisTargetOf } from "../../src/infra/RedisTarget.ts"

describe("redisTargetOf", () => {
  it.each([
    [{ redisUrl: "", redisClusterNodes: "" }, { _tag: "Standalone", url: DEFAULT_REDIS_URL }],
    [{ redisUrl: "redis://r:6380", redisClusterNodes: " " }, { _tag: "Standalone", url: "redis://r:6380" }],
    [
      { redisUrl: "", redisClusterNodes: "10.0.0.1:7000, redis-b:7001,[::1]:7002" },
      { _tag: "Cluster", seeds: [{ host: "10.0.0.1", port: 7000 }, { host: "redis-b", port: 7001 }, { host: "::1", port: 7002 }] }
    ]
  ])("%j is %j", (env, target) => {
    expect(redisTargetOf(env)).toEqual(target)
  })

  it("refuses both variables at once, naming them", () => {
    const target = redisTargetOf({ redisUrl: "redis://r:6379", redisClusterNodes: "r:7000" })
    expect(target).toMatchObject({ _tag: "Invalid", reason: expect.stringContaining("REDIS_URL and REDIS_CLUSTER_NODES are both set") })
  })

  it.each(["r", "r:", ":7000", "r:70000", "r:0", "r:7000,", "redis://r:7000"])("refuses the seed list %j, naming the bad seed", (nodes) => {
    const target = redisTargetOf({ redisUrl: "", redisClusterNodes: nodes })
    expect(target).toMatchObject({ _tag: "Invalid", reason: expect.stringMatching(/^REDIS_CLUSTER_NODES must be comma-separated host:port seeds: ".*" is not host:port/) })
  })
})
