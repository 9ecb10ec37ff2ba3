/**
 * Run inside a network namespace of its own (nothing answers at 6379 or 5432): starts the service from a
 * fresh folder with neither REDIS_URL nor DATABASE_URL, as `npm start` does on a new machine, plays a
 * game, reads its audit rows from the embedded PostgreSQL, and stops it; then a second start beside a
 * running one, a start that crashes (its port taken), a start without redis-server on PATH, and a
 * start after one was killed. Prints what it saw as one JSON object.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { freePort } from "../../src/app/embedded/ports.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const tsx = import.meta.resolve("tsx")

interface Run {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

const startService = (cwd: string, port: number, pathVariable = process.env["PATH"] ?? ""): Run => {
  const { REDIS_URL: _redis, DATABASE_URL: _database, ...env } = process.env
  let output = ""
  const child = spawn(process.execPath, ["--import", tsx, path.join(root, "src/app/main.ts"), "all"], {
    cwd,
    env: { ...env, PATH: pathVariable, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout!.on("data", (chunk) => (output += String(chunk)))
  child.stderr!.on("data", (chunk) => (output += String(chunk)))
  return { child, output: () => output, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) }
}

/** Processes whose working directory is under `folder`: redis-server and postgres run in their data folders. */
const processesUnder = async (folder: string): Promise<Array<string>> => {
  const found: Array<string> = []
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => "")
    if (cwd.startsWith(folder)) found.push(`${entry} ${(await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ")}`)
  }
  return found
}

/** What remains a moment after the service has exited: its servers get a signal and need a moment to stop. */
const leftoversAfterExit = async (folder: string) => {
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await processesUnder(folder)).length === 0) return []
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return processesUnder(folder)
}

const waitReady = async (run: Run, base: string) => {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`service exited at start:\n${run.output()}`)
    if (await fetch(`${base}/ready`).then((r) => r.ok, () => false)) return
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`service not ready:\n${run.output()}`)
}

const post = (base: string, route: string, body?: unknown) =>
  fetch(`${base}${route}`, {
    method: "POST",
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  })

const auditedTypes = async (databaseUrl: string, sessionId: string) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    return (await client.query<{ type: string }>("SELECT type FROM session_events WHERE session_id = $1 ORDER BY version", [sessionId]))
      .rows.map((row) => row.type)
  } finally {
    await client.end()
  }
}

const playAndAudit = async (folder: string) => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const run = startService(folder, port)
  await waitReady(run, base)
  const sessionId = randomUUID()
  const statuses = [
    (await post(base, "/v1/sessions", {
      session_id: sessionId,
      sync_mode: "per_participant",
      total_time_ms: 60_000,
      participants: [{ participant_id: randomUUID() }, { participant_id: randomUUID() }]
    })).status,
    (await post(base, `/v1/sessions/${sessionId}/start`)).status,
    (await post(base, `/v1/sessions/${sessionId}/switch`)).status,
    (await post(base, `/v1/sessions/${sessionId}/switch`)).status
  ]
  // A second start from the same folder must not take over the first one's servers.
  const second = startService(folder, await freePort())
  const secondExit = await second.exited
  const banner = JSON.parse(run.output().split("\n").find((line) => line.includes("synckairos ready")) ?? "{}") as Record<string, string>
  // The banner names the database without its password; the password is in the embedded server's folder.
  const databaseUrl = new URL(/\((postgres:\/\/[^)]+)\)/.exec(banner["postgres"] ?? "")?.[1] ?? "postgres://missing")
  databaseUrl.password = (await readFile(path.join(folder, ".data/postgres/password"), "utf8")).trim()
  let audited: Array<string> = []
  for (const deadline = Date.now() + 30_000; audited.length < 4 && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    audited = await auditedTypes(databaseUrl.toString(), sessionId)
  }
  run.child.kill("SIGINT")
  const exitCode = await run.exited
  return {
    statuses, banner, audited, exitCode, leftovers: await leftoversAfterExit(folder), output: run.output(),
    second: { exitCode: secondExit, output: second.output() }
  }
}

/** SIGKILL leaves the servers running (nothing can stop them then): the next start stops them first. */
const killedThenRestarted = async (folder: string) => {
  const port = await freePort()
  const killed = startService(folder, port)
  await waitReady(killed, `http://127.0.0.1:${port}`)
  killed.child.kill("SIGKILL")
  await killed.exited
  const orphans = await processesUnder(folder)
  const next = startService(folder, port)
  await waitReady(next, `http://127.0.0.1:${port}`)
  const running = await processesUnder(folder)
  next.child.kill("SIGTERM")
  const exitCode = await next.exited
  return { orphans, running, exitCode, leftovers: await leftoversAfterExit(folder), output: next.output() }
}

/** The embedded servers start, then the service cannot listen: it must exit and take its servers along. */
const crashAtStart = async (folder: string) => {
  const taken = createServer()
  const port = await new Promise<number>((resolve) => taken.listen(0, "127.0.0.1", () => resolve((taken.address() as { port: number }).port)))
  const run = startService(folder, port)
  const exitCode = await run.exited
  taken.close()
  return { exitCode, leftovers: await leftoversAfterExit(folder), output: run.output() }
}

/** A PATH with what the start needs (`id`, `useradd` for PostgreSQL as root) but no redis-server. */
const withoutRedis = async (folder: string) => {
  const bin = path.join(folder, "bin")
  await mkdir(bin)
  for (const program of ["id", "useradd"]) {
    const found = execFileSync("sh", ["-c", `command -v ${program} || true`]).toString().trim()
    if (found !== "") await symlink(found, path.join(bin, program))
  }
  const run = startService(folder, await freePort(), bin)
  const exitCode = await run.exited
  return { exitCode, leftovers: await leftoversAfterExit(folder), output: run.output() }
}

const folder = await mkdtemp(path.join(tmpdir(), "synckairos-embedded-"))
// As root, PostgreSQL runs as an unprivileged user, who must be able to reach its data folder.
await chmod(folder, 0o755)
try {
  const played = await playAndAudit(folder)
  const crashed = await crashAtStart(folder)
  const missing = await withoutRedis(folder)
  const killed = await killedThenRestarted(folder)
  console.log(JSON.stringify({ played, crashed, missing, killed }))
} finally {
  await rm(folder, { recursive: true, force: true })
}
