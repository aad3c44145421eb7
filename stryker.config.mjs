// Mutation testing of the decision code (docs/development.md, "Mutation testing"). `npm run
// mutation` runs it all; `npm run mutation -- --mutate src/pull/classify.ts` one module.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: "npm",
  testRunner: "vitest",
  // The unit suite only: a mutant is run against the tests that cover it, and integration tests
  // (real daemons, minutes per file) cannot be run hundreds of times.
  vitest: { configFile: "vitest.config.ts" },
  coverageAnalysis: "perTest",
  // Mutants that do not type-check are set aside (CompileError) instead of being run: a bug the
  // compiler rejects is not one the tests need to catch. Only src/ is checked (tsconfig.stryker.json).
  checkers: ["typescript"],
  tsconfigFile: "tsconfig.stryker.json",
  mutate: [
    "src/prune/**/*.ts",
    "src/pull/**/*.ts",
    "src/recipe/**/*.ts",
    "src/state/**/*.ts",
    "src/lease/**/*.ts",
    "src/config/**/*.ts",
    "src/auth/**/*.ts",
    "src/model/**/*.ts",
    "src/util/duration.ts",
    "src/util/size.ts",
    // No unit test reaches these two: they are mutated against a real engine instead
    // (stryker/engine.config.mjs, `npm run mutation:engine`), not counted as uncovered here.
    "!src/prune/run-prune.ts",
    "!src/prune/gap-prune.ts",
  ],
  plugins: ["@stryker-mutator/*", "./stryker/ignore-logging.mjs"],
  ignorers: ["logging"],
  // Two cores, shared: one test-runner process per core at most.
  concurrency: 2,
  // Re-test only mutants whose code or covering tests changed since the last run here. The file
  // stays local (reports/ is gitignored): docs/decisions.md says why it is not committed.
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  // A mutant's tests get the dry run's time × timeoutFactor + timeoutMS before it counts as a
  // timeout (an endless loop). Generous: on a loaded shared machine a slow run is not a hang, and a
  // false timeout would count as a kill.
  timeoutMS: 20_000,
  timeoutFactor: 2,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  // The agreed target (issue 12): below 90% the run fails (exit 1). Equivalent mutants are marked
  // in the code with a "// Stryker disable next-line …: why" comment, listed in docs/development.md.
  thresholds: { high: 90, low: 80, break: 90 },
};
