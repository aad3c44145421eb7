// Process entry for the bundle (dist/imagekeeper.mjs), and for the V8 startup snapshot built from
// it (scripts/snapshot-entry.cjs, nix/package.nix).
import { readFileSync } from "node:fs";
import { z } from "zod";
import { main, reportError } from "./cli.js";
import { findEntry } from "./commands/index.js";
import { InputError } from "./errors.js";
import { envFileReadByNode, readCmdline } from "./util/node-argv.js";

// zod 4 compiles a fast parser with `new Function` the first time each object schema parses. A CLI
// that parses each schema once or twice pays the compile and never earns it back (docs/performance.md).
z.config({ jitless: true });

/**
 * Started without `--` before the script, Node has already read our `--env-file` as its own
 * (nodejs/node#54232, src/util/node-argv.ts): refuse to run with what that file put in our
 * environment. Exit 2, like any other bad invocation, with the JSON error document under --json.
 */
function refuseNodeEnvFile(args: readonly string[]): number | undefined {
  const cmdline = readCmdline((f) => readFileSync(f, "utf8"));
  const arg = cmdline && envFileReadByNode(cmdline, args);
  if (!arg) return undefined;
  const script = process.argv[1] ?? "imagekeeper.mjs";
  const err = new InputError(
    "usage",
    `node took "${arg}" as its own option: imagekeeper was started as \`node ${script} …\` without \`--\`, and Node 20 reads --env-file anywhere on its command line (nodejs/node#54232), so it loaded that file into imagekeeper's own environment, where a NODE_OPTIONS line runs code; refusing to go on`,
    {
      hint: `Start it as \`node -- ${script} …\`, run the script itself (its shebang passes --), or use the installed imagekeeper wrapper.`,
    },
  );
  const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) };
  return reportError(err, io, args.includes("--json"));
}

/** Everything that reads the process (argv, /proc, the environment, the clock): run at each start. */
function start(): void {
  const args = process.argv.slice(2);
  const refused = refuseNodeEnvFile(args);
  if (refused !== undefined) {
    process.exitCode = refused;
    return;
  }
  main(args).then(
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
  // stays lazy). start() runs in each process restored from the blob, never here. node:v8 only
  // here: a normal start never loads it.
  void findEntry("prepull")?.load();
  void import("node:v8").then((v8) => v8.startupSnapshot.setDeserializeMainFunction(start));
} else {
  start();
}
