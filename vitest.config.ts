import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    // Most files spend their time waiting on servers they start, timers and sockets, not on a core:
    // at least two run at once, also on a 2-core machine (vitest's default there is one).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { test: { name: "unit", include: ["tests/domain/**/*.test.ts", "tests/app/**/*.test.ts", "tests/infra/**/*.test.ts", "tests/client/**/*.test.ts"] } },
      {
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000
        }
      },
      {
        test: {
          name: "browser",
          include: ["tests/browser/**/*.test.ts"],
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      },
      {
        // Faults (`npm run chaos`, and `npm test`): each case on a redis-server of its own.
        test: {
          name: "chaos",
          include: ["tests/chaos/*.test.ts"],
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000
        }
      },
      {
        // Faults that last minutes (`npm run chaos` only; `npm test` has a PostgreSQL outage of its own).
        test: {
          name: "chaos-long",
          include: ["tests/chaos/long/*.test.ts"],
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 240_000,
          hookTimeout: 60_000
        }
      }
    ]
  }
})
