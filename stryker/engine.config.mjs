// Mutation testing of the prune executors against a real engine (docs/development.md, "Mutation
// testing"): src/prune/run-prune.ts and gap-prune.ts drive the Engine API, the docker client, the
// lease locks and the state files, so no unit test covers them and mocks of Docker are not tests
// here. test/integration/run-prune.itg.test.ts calls them in-process against one private dockerd on
// a loop disk, which test/support/engine-bed-setup.ts starts once per test runner (globalSetup);
// a mutant then costs only the tests that cover it, seconds each. `npm run mutation:engine`.
import base from "../stryker.config.mjs";

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { configFile: "vitest.config.mutation-engine.ts" },
  mutate: ["src/prune/run-prune.ts", "src/prune/gap-prune.ts"],
  // One runner, so one daemon and one loop disk; the tests share that engine and must not overlap.
  concurrency: 1,
  incrementalFile: "reports/stryker-engine-incremental.json",
  htmlReporter: { fileName: "reports/mutation-engine/mutation.html" },
  jsonReporter: { fileName: "reports/mutation-engine/mutation.json" },
  tempDirName: ".stryker-tmp-engine",
};
