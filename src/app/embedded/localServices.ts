/**
 * Which Redis and PostgreSQL the service uses: the configured ones (REDIS_URL, DATABASE_URL); else the
 * ones answering at the default addresses; else, where the process may, servers of its own with their
 * data under `.data/`, so that `npm install && npm start` runs on a machine with nothing but Node.
 */
import path from "node:path"
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL } from "../AppConfig.ts"
import { answers } from "./ports.ts"
import { startEmbeddedPostgres } from "./postgres.ts"
import { startEmbeddedRedis } from "./redis.ts"
import type { EmbeddedServer } from "./serverProcess.ts"

export interface LocalServices {
  /** The embedded servers' URLs, in place of the defaults nothing answers at. */
  readonly redisUrl: string | undefined
  readonly databaseUrl: string | undefined
  /** Which Redis and PostgreSQL, as the banner names them (no password). */
  readonly redis: string
  readonly postgres: string
  /** Stops the embedded servers, once the service no longer uses them. */
  readonly stop: () => Promise<void>
}

interface Dependency {
  readonly name: string
  readonly variable: string
  readonly defaultUrl: string
  readonly start: (directory: string) => Promise<EmbeddedServer>
}

const REDIS: Dependency = { name: "redis", variable: "REDIS_URL", defaultUrl: DEFAULT_REDIS_URL, start: startEmbeddedRedis }
const POSTGRES: Dependency = { name: "postgres", variable: "DATABASE_URL", defaultUrl: DEFAULT_DATABASE_URL, start: startEmbeddedPostgres }

export const DATA_DIRECTORY = ".data"

export const withoutPassword = (url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.password = ""
    return parsed.toString()
  } catch {
    // Not a URL: the configuration check names it; shown as it is, it holds no parsable password.
    return url
  }
}

interface Choice {
  readonly server?: EmbeddedServer
  readonly described: string
}

const choose = async (dependency: Dependency, env: NodeJS.ProcessEnv, embed: boolean): Promise<Choice> => {
  const configured = env[dependency.variable]
  if (configured !== undefined && configured !== "") return { described: withoutPassword(configured) }
  const fallback = new URL(dependency.defaultUrl)
  if (!embed || (await answers(fallback.hostname, Number(fallback.port)))) return { described: dependency.defaultUrl }
  const directory = path.join(DATA_DIRECTORY, dependency.name)
  const server = await dependency.start(path.resolve(directory))
  return { server, described: `embedded under ${directory}/ (${withoutPassword(server.url)})` }
}

/**
 * `embed`: whether this process may start servers of its own. Only the single-process start (`all`)
 * does: api and worker processes of one deployment must share one Redis, which none of them owns.
 */
export const localServices = async (env: NodeJS.ProcessEnv, embed: boolean): Promise<LocalServices> => {
  const [redis, postgres] = await Promise.allSettled([choose(REDIS, env, embed), choose(POSTGRES, env, embed)])
  const servers = [redis, postgres].flatMap((choice) => (choice.status === "fulfilled" && choice.value.server ? [choice.value.server] : []))
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()))
  }
  if (redis.status === "rejected" || postgres.status === "rejected") {
    await stop()
    throw redis.status === "rejected" ? redis.reason : (postgres as PromiseRejectedResult).reason
  }
  return {
    redisUrl: redis.value.server?.url,
    databaseUrl: postgres.value.server?.url,
    redis: redis.value.described,
    postgres: postgres.value.described,
    stop
  }
}
