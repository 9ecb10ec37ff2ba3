import { readFileSync } from "node:fs"
import { expect, it } from "vitest"
import { SERVER_VERSION } from "../../src/app/version.ts"

it("reports package.json's version (tests/integration/build.test.ts checks it from dist/)", () => {
  expect(SERVER_VERSION).toBe(JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version)
})
