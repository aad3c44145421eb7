import { defineConfig } from "vitest/config";

// Integration tests: every file starts its own dockerd/registry on its own paths and ports
// (test/support/testbed.ts). Two workers keep a two-core machine responsive; each daemon is
// started and stopped by PID.
export default defineConfig({
  test: {
    include: ["test/integration/**/*.itg.test.ts"],
    environment: "node",
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
