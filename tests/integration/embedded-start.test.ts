/**
 * The first start on a machine with nothing but Node: in a network namespace of its own (`unshare -n`,
 * nothing answers at 6379 or 5432), the service runs its own redis-server and PostgreSQL, audits a game
 * into that PostgreSQL, and leaves no server behind when it stops, when it crashes at start, or when
 * there is no redis-server to run; a second start beside it is refused, and a start after it was
 * killed stops the servers it left. The scenario runs inside the namespace: tests/support/embedded-start-scenario.ts.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { expect, it } from "vitest"
import { malformedLines } from "../support/logLines.ts"

interface Outcome {
  readonly exitCode: number | null
  readonly leftovers: ReadonlyArray<string>
  readonly output: string
}

interface Scenario {
  readonly played: Outcome & {
    readonly statuses: ReadonlyArray<number>
    readonly banner: Record<string, unknown>
    readonly audited: ReadonlyArray<string>
    readonly second: Outcome
  }
  readonly crashed: Outcome
  readonly missing: Outcome
  readonly killed: Outcome & { readonly orphans: ReadonlyArray<string>; readonly running: ReadonlyArray<string> }
}

const scenario = fileURLToPath(new URL("../support/embedded-start-scenario.ts", import.meta.url))

it("npm start's default: its own Redis and PostgreSQL, the audit in it, nothing left running after a stop, a crash, a missing redis-server or a kill", async () => {
  const { stdout } = await promisify(execFile)(
    "unshare",
    ["-n", "sh", "-c", `ip link set lo up && exec "${process.execPath}" --import tsx "${scenario}"`],
    { timeout: 230_000, maxBuffer: 16 * 1024 * 1024 }
  )
  const { played, crashed, missing, killed } = JSON.parse(stdout) as Scenario

  expect(played.statuses, played.output).toEqual([201, 200, 200, 200])
  expect(played.banner["msg"]).toMatch(/^synckairos ready at http:\/\/127\.0\.0\.1:\d+ · API docs \S+\/docs · demos \S+\/demo\/chess \S+\/demo\/countdown/)
  expect(played.banner["redis"]).toMatch(/^embedded under \.data\/redis\/ \(redis:\/\/127\.0\.0\.1:\d+\)$/)
  expect(played.banner["postgres"]).toMatch(/^embedded under \.data\/postgres\/ \(postgres:\/\/postgres@127\.0\.0\.1:\d+\/synckairos\)$/)
  expect(played.audited).toEqual(["SESSION_CREATED", "SESSION_STARTED", "CYCLE_SWITCHED", "CYCLE_SWITCHED"])
  expect(played.exitCode, played.output).toBe(0)
  expect(played.leftovers).toEqual([])
  // The shutdown stops Redis only after the service has let go of every connection to it.
  expect(played.output).not.toContain("ECONNREFUSED")

  // Every line, the embedded servers' start and stop included, is one JSON object of the one shape.
  for (const output of [played.output, played.second.output, crashed.output, missing.output, killed.output]) {
    expect(malformedLines(output)).toEqual([])
  }

  expect(played.second.output).toMatch(/another SyncKairos \(pid \d+\) runs the Redis and PostgreSQL under \.data\//)
  expect(played.second.exitCode).toBe(1)

  expect(crashed.output).toContain("EADDRINUSE")
  expect(crashed.exitCode).toBe(1)
  expect(crashed.leftovers).toEqual([])

  expect(missing.output).toContain("there is no redis-server on PATH")
  expect(missing.output).toContain("sudo apt-get install redis-server")
  expect(missing.output).toContain("brew install redis")
  expect(missing.output).toContain("docker compose up")
  expect(missing.exitCode).toBe(1)
  expect(missing.leftovers).toEqual([])

  // Killed with SIGKILL, the service leaves its two servers; the next start stops them and runs its own.
  const pids = (processes: ReadonlyArray<string>) => new Set(processes.map((line) => line.split(" ")[0]))
  expect(killed.orphans.some((line) => line.includes("redis-server")), killed.orphans.join("\n")).toBe(true)
  expect(killed.orphans.some((line) => line.includes("postgres")), killed.orphans.join("\n")).toBe(true)
  expect([...pids(killed.orphans)].filter((pid) => pids(killed.running).has(pid))).toEqual([])
  expect(killed.exitCode, killed.output).toBe(0)
  expect(killed.leftovers).toEqual([])
}, 240_000)
