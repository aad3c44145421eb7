import { defineConfig } from "vitest/config";

// The prune executors (src/prune/run-prune.ts, gap-prune.ts) in-process against one real engine,
// for Stryker (stryker/engine.config.mjs) and for checking a mutant by hand
// (stryker/killcheck.sh … --config vitest.config.mutation-engine.ts). The engine bed is started
// once per Vitest instance by the globalSetup (once per Stryker test runner), not per test file
// run, so a mutant costs only the tests that cover it. No CLI bundle is built: nothing here runs
// the CLI.
export default defineConfig({
  test: {
    include: ["test/integration/run-prune.itg.test.ts"],
    environment: "node",
    globalSetup: ["test/support/engine-bed-setup.ts"],
    // Worker threads (Stryker's pool) cannot set the umask: see the file.
    setupFiles: ["test/support/worker-umask.ts"],
    pool: "forks",
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
