import { readFileSync } from "node:fs"

/**
 * The service's version, as package.json states it. This module sits two folders below the project
 * root both as source (src/app, run by tsx) and built (dist/app), so one relative path serves both.
 */
const versionOf = (packageJson: unknown): string => {
  if (typeof packageJson === "object" && packageJson !== null && "version" in packageJson && typeof packageJson.version === "string") {
    return packageJson.version
  }
  throw new Error("package.json names no version")
}

export const SERVER_VERSION = versionOf(JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")))
