import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["tests/domain/**/*.test.ts", "tests/app/**/*.test.ts", "tests/infra/**/*.test.ts"] } },
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
        // Faults (`npm run chaos`): each case on a redis-server (and, when it stops one, a PostgreSQL) of its own.
        test: {
          name: "chaos",
          include: ["tests/chaos/**/*.test.ts"],
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000
        }
      }
    ]
  }
})
