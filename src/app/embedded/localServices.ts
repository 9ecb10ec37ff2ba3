/**
 * Which Redis and PostgreSQL the service uses: the configured ones (REDIS_URL, DATABASE_URL); else the
 * ones answering at the default addresses; else, where the process may, servers of its own with their
 * data under `.data/`, so that `npm install && npm start` runs on a machine with nothing but Node.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL } from "../AppConfig.ts"
import { answers } from "./ports.ts"
import { startEmbeddedPostgres } from "./postgres.ts"
import { startEmbeddedRedis } from "./redis.ts"
import { type EmbeddedServer, runs } from "./serverProcess.ts"

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
  /** The variables that name a server of the user's: any one set, nothing is looked for or started. */
  readonly variables: ReadonlyArray<string>
  readonly defaultUrl: string
  readonly start: (directory: string) => Promise<EmbeddedServer>
}

const REDIS: Dependency = { name: "redis", variables: ["REDIS_URL", "REDIS_CLUSTER_NODES"], defaultUrl: DEFAULT_REDIS_URL, start: startEmbeddedRedis }
const POSTGRES: Dependency = { name: "postgres", variables: ["DATABASE_URL"], defaultUrl: DEFAULT_DATABASE_URL, start: startEmbeddedPostgres }

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

/**
 * One process at a time runs servers on `.data/`: a second start from the same folder is refused while
 * the first runs. (The servers of one that was killed are stopped by the next start: stopLeftover.)
 */
const claimDataDirectory = async () => {
  await mkdir(DATA_DIRECTORY, { recursive: true })
  const ownerFile = path.join(DATA_DIRECTORY, "owner.pid")
  const owner = Number.parseInt(await readFile(ownerFile, "utf8").catch(() => ""), 10)
  if (owner !== process.pid && (await runs(owner, "node"))) {
    throw new Error(
      `another SyncKairos (pid ${owner}) runs the Redis and PostgreSQL under ${DATA_DIRECTORY}/ of this folder: ` +
        "stop it, or start this one with REDIS_URL and DATABASE_URL set"
    )
  }
  await writeFile(ownerFile, String(process.pid))
}

const choose = async (dependency: Dependency, env: NodeJS.ProcessEnv, embed: boolean): Promise<Choice> => {
  const configured = dependency.variables.find((variable) => (env[variable] ?? "") !== "")
  if (configured !== undefined) return { described: withoutPassword(env[configured]!) }
  const fallback = new URL(dependency.defaultUrl)
  if (!embed || (await answers(fallback.hostname, Number(fallback.port)))) return { described: dependency.defaultUrl }
  await claimDataDirectory()
  const directory = path.join(DATA_DIRECTORY, dependency.name)
  const server = await dependency.start(path.resolve(directory))
  return { server, described: `embedded under ${directory}/ (${withoutPassword(server.url)})` }
}

/**
 * `embed`: whether this process may start servers of its own. Only the single-process start (`all`)
 * does: api and worker processes of one deployment must share one Redis, which none of them owns.
 */
export const localServices = async (env: NodeJS.ProcessEnv, embed: boolean): Promise<LocalServices> => {
  // Redis first: it starts in a moment, and without it there is no point in starting PostgreSQL.
  const redis = await choose(REDIS, env, embed)
  const postgres = await choose(POSTGRES, env, embed).catch(async (error: unknown) => {
    await redis.server?.stop()
    throw error
  })
  const stop = async () => {
    await Promise.all([redis.server?.stop(), postgres.server?.stop()])
  }
  return {
    redisUrl: redis.server?.url,
    databaseUrl: postgres.server?.url,
    redis: redis.described,
    postgres: postgres.described,
    stop
  }
}
