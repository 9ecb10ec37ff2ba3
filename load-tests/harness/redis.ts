import { Redis } from "ioredis"

/** Parses the `key:value` lines of an INFO reply. */
export const parseInfo = (text: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":")
    if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

export interface RedisFacts {
  readonly version: string
  readonly mode: string
  readonly os: string
  readonly processId: string
}

/** A small admin connection for facts, CPU counters and clean-up; not on the request path. */
export class RedisAdmin {
  private constructor(private readonly client: Redis) {}

  static async connect(url: string): Promise<RedisAdmin> {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false })
    await client.connect()
    return new RedisAdmin(client)
  }

  async info(section: string): Promise<Record<string, string>> {
    return parseInfo(await this.client.info(section))
  }

  async facts(): Promise<RedisFacts> {
    const s = await this.info("server")
    return {
      version: s["redis_version"] ?? "unknown",
      mode: s["redis_mode"] ?? "unknown",
      os: s["os"] ?? "unknown",
      processId: s["process_id"] ?? "unknown"
    }
  }

  /** Redis' own CPU seconds (user + sys, all threads) since it started. */
  async cpuSeconds(): Promise<number> {
    const c = await this.info("cpu")
    return Number(c["used_cpu_user"] ?? 0) + Number(c["used_cpu_sys"] ?? 0)
  }

  /** SCAN + UNLINK every key starting with `prefix`; returns how many were removed. */
  async deleteByPrefix(prefix: string): Promise<number> {
    if (/[*?[\]\\]/.test(prefix)) throw new Error(`refusing a key prefix with glob characters: ${prefix}`)
    let cursor = "0"
    let removed = 0
    do {
      const [nextCursor, keys] = await this.client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
      cursor = nextCursor
      if (keys.length > 0) removed += await this.client.unlink(...keys)
    } while (cursor !== "0")
    return removed
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect())
  }
}
