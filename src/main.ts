// Process entry for the bundle (dist/imagekeeper.mjs), and for the V8 startup snapshot built from
// it (scripts/snapshot-entry.cjs, nix/package.nix).
import { z } from "zod";
import { main } from "./cli.js";
import { findEntry } from "./commands/index.js";

// zod 4 compiles a fast parser with `new Function` the first time each object schema parses. A CLI
// that parses each schema once or twice pays the compile and never earns it back (docs/performance.md).
z.config({ jitless: true });

function start(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`imagekeeper: internal error: ${String(e)}\n`);
      process.exitCode = 70;
    },
  );
}

if (process.execArgv.includes("--build-snapshot")) {
  // Building the startup snapshot: what the imports above evaluated goes into the blob, and so does
  // prepull's module graph (the command a CI host runs before every deploy; its modules read
  // nothing of the environment when they load, and what it loads lazily, execa, yaml, node:http,
  // stays lazy). The start (argv, the environment, the clock, the sockets) runs in each process
  // restored from the blob. node:v8 only here: a normal start never loads it.
  void findEntry("prepull")?.load();
  void import("node:v8").then((v8) => v8.startupSnapshot.setDeserializeMainFunction(start));
} else {
  start();
}
