// Builds a V8 startup snapshot of imagekeeper from the bundle (dist/imagekeeper.mjs): the program's
// heap after evaluation (zod's schemas, pino, the CLI's tables) is saved to a blob that Node
// restores instead of parsing and evaluating the bundle at each start (docs/performance.md).
//
//   node --snapshot-blob imagekeeper.blob --build-snapshot scripts/snapshot-entry.cjs BUNDLE
//   node --snapshot-blob imagekeeper.blob -- BUNDLE ARGS…        (what the Nix wrapper runs)
//
// A blob fits only the Node binary that built it, with the same V8 flags (NODE_OPTIONS included):
// Node refuses any other with exit 14 before running a line of ours, so the launcher checks before
// it uses one (nix/package.nix). The path after `--` is never read: it takes the script's place in
// process.argv, so the program sees the same argv as `node -- BUNDLE ARGS…`, and the launcher check
// of /proc/self/cmdline sees `--` right before it.
//
// Only Node's built-in modules can be required while the snapshot is built, hence a single bundle.
// Nothing that reads the environment, the clock, a file descriptor or a socket may run now: it
// would be frozen into the blob. src/main.ts therefore only registers the start as the snapshot's
// main function (v8.startupSnapshot) when it sees --build-snapshot.
/* global require */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: --build-snapshot runs no ES module (Node 20) */
"use strict";
const { readFileSync } = require("node:fs");
const path = require("node:path");

const bundle = process.argv[2];
if (!bundle) throw new Error("usage: node --snapshot-blob OUT --build-snapshot snapshot-entry.cjs BUNDLE");
const file = path.resolve(bundle);

/** The program inside the bundle's loader (scripts/build.mjs writes it as one `const PROGRAM = "…";` line). */
function program(text) {
  const head = "\nconst PROGRAM = ";
  const start = text.indexOf(head);
  const end = start < 0 ? -1 : text.indexOf(";\n", start);
  if (end < 0) throw new Error(`${file}: no PROGRAM line: not a bundle written by scripts/build.mjs`);
  return JSON.parse(text.slice(start + head.length, end));
}

// Indirect eval: compiled in the global scope, as vm.Script compiles it in the loader (the vm
// module is not among those Node 20 supports in a snapshot). The source URL names the bundle in
// stack traces.
const text = program(readFileSync(file, "utf8"));
// A bundle from before src/main.ts deferred its start would run the CLI now, at build time, and
// freeze that run into the blob: refuse it (rebuild the bundle with `npm run build`).
if (!text.includes("setDeserializeMainFunction"))
  throw new Error(
    `${file}: this bundle starts at once, not from a snapshot's main function: rebuild it (npm run build)`,
  );
const run = (0, eval)(`${text}\n//# sourceURL=${file}`);
const module_ = { exports: {} };
run(module_.exports, require, module_, file, path.dirname(file));
