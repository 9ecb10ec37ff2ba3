/**
 * The build that `npm start` runs: `npm run build` compiles src/ into dist/, and the compiled service
 * finds what it reads from disk (its Lua scripts, the SQL migrations, the demo bundle) and serves commands,
 * the audit and the demo pages.
 */
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { promisify } from "node:util"
import { afterAll, expect, it } from "vitest"
import { sessionBody } from "../support/app.ts"
import { auditReader, databaseUrlNamed, dropDatabase, testDatabaseUrl } from "../support/postgres.ts"
import { spawnService } from "../support/process.ts"
import { deleteKeysWithPrefix, testPrefix } from "../support/redis.ts"

const prefix = testPrefix("build")
// A database that does not exist yet: the built service must create it and apply migrations/ itself.
const databaseUrl = databaseUrlNamed(`synckairos_test_build_${randomBytes(4).toString("hex")}`, new URL(testDatabaseUrl()))
afterAll(async () => {
  await deleteKeysWithPrefix(prefix)
  await dropDatabase(databaseUrl)
})

const post = (base: string, path: string, body: unknown = {}) =>
  fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

it("runs from dist/: commands, the audit into a database it migrates itself, a clean stop", async () => {
  await promisify(execFile)("npm", ["run", "build"], { timeout: 120_000 })
  const service = await spawnService("all", { REDIS_KEY_PREFIX: prefix, DATABASE_URL: databaseUrl }, "build")
  try {
    const body = sessionBody("per_participant", 2, { total_time_ms: 3_600_000 })
    expect((await post(service.baseUrl, "/v1/sessions", body)).status).toBe(201)
    expect((await post(service.baseUrl, `/v1/sessions/${body.session_id}/start`)).status).toBe(200)
    const read = (await (await fetch(`${service.baseUrl}/v1/sessions/${body.session_id}`)).json()) as {
      data: { version: number; status: string }
    }
    expect(read.data).toMatchObject({ version: 2, status: "running" })

    // The version is package.json's, found from dist/ as from src/.
    const { version } = JSON.parse(readFileSync("package.json", "utf8"))
    expect(await (await fetch(`${service.baseUrl}/v1/time`)).json()).toMatchObject({ server_version: version })
    expect(await (await fetch(`${service.baseUrl}/docs/json`)).json()).toMatchObject({ info: { version } })

    const audit = auditReader(databaseUrl)
    try {
      const deadline = Date.now() + 15_000
      let audited = await audit.events([body.session_id])
      while (audited.length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        audited = await audit.events([body.session_id])
      }
      expect(audited.map((event) => event.version)).toEqual([1, 2])
    } finally {
      await audit.close()
    }

    // The demo pages, with the bundle the build wrote (dist/app/demo/assets/) rather than one made at run time.
    expect(existsSync("dist/app/demo/assets/chess.js")).toBe(true)
    const page = await fetch(`${service.baseUrl}/demo/chess`)
    expect(page.headers.get("content-type")).toContain("text/html")
    expect(await page.text()).toContain("/demo/assets/chess.js")
    const script = await fetch(`${service.baseUrl}/demo/assets/chess.js`)
    expect(script.status).toBe(200)
    expect(await script.text()).toBe(readFileSync("dist/app/demo/assets/chess.js", "utf8"))
  } finally {
    service.child.kill("SIGTERM")
  }
  expect(await service.exited).toBe(0)
}, 180_000)
