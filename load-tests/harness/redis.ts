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

  /** Bytes Redis has allocated (INFO memory used_memory). */
  async usedMemory(): Promise<number> {
    return Number((await this.info("memory"))["used_memory"] ?? Number.NaN)
  }

  /** Every key matching `pattern` (SCAN, so the server is never blocked for long). */
  async keys(pattern = "*"): Promise<Array<string>> {
    const all: Array<string> = []
    let cursor = "0"
    do {
      const [nextCursor, keys] = await this.client.scan(cursor, "MATCH", pattern, "COUNT", 1000)
      cursor = nextCursor
      all.push(...keys)
    } while (cursor !== "0")
    return all
  }

  /**
   * Per key: its MEMORY USAGE (every nested value counted: SAMPLES 0) and, for a stream or a sorted
   * set, its number of entries (null for other types).
   */
  async footprints(keys: ReadonlyArray<string>): Promise<Array<{ key: string; bytes: number; entries: number | null }>> {
    const pipeline = this.client.pipeline()
    for (const key of keys) pipeline.call("MEMORY", "USAGE", key, "SAMPLES", "0").type(key)
    const replies = (await pipeline.exec()) ?? []
    const lengthOf = (key: string, type: unknown) =>
      type === "stream" ? this.client.xlen(key) : type === "zset" ? this.client.zcard(key) : Promise.resolve(null)
    const lengths = await Promise.all(keys.map((key, i) => lengthOf(key, replies[2 * i + 1]?.[1])))
    return keys.map((key, i) => ({ key, bytes: Number(replies[2 * i]?.[1] ?? 0), entries: lengths[i] ?? null }))
  }

  /** SCAN + UNLINK every key starting with `prefix`; returns how many were removed. */
  async deleteByPrefix(prefix: string): Promise<number> {
    if (/[*?[\]\\]/.test(prefix)) throw new Error(`refusing a key prefix with glob characters: ${prefix}`)
    const keys = await this.keys(`${prefix}*`)
    let removed = 0
    for (let i = 0; i < keys.length; i += 1000) removed += await this.client.unlink(...keys.slice(i, i + 1000))
    return removed
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect())
  }
}
