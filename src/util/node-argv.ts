// Was imagekeeper started so that Node itself read an `--env-file` meant for imagekeeper?
//
// Node 20 takes `--env-file FILE` (and `--env-file=FILE`, `--env-file-if-exists`) anywhere in its
// argv as its own option, also AFTER the script path, until the first `--` (nodejs/node#54232):
// `node imagekeeper.mjs prepull --env-file app.env` makes Node load app.env into the process
// environment before imagekeeper runs, so a `NODE_OPTIONS=--require FILE` line in an app .env runs
// FILE inside imagekeeper, and a missing file makes Node exit 9. Every launcher therefore starts
// the script after a `--` (`node -- imagekeeper.mjs …`: the bundle's shebang, the Nix wrapper).
// This check is the defence in depth for a launcher that does not: it cannot undo what Node
// already did, but it refuses to go on with an environment an app .env may have written.
//
// process.execArgv cannot tell (Node drops the `--` from it); /proc/self/cmdline is the real argv.

/** The argument that Node took as its own `--env-file`, or undefined when Node read none of ours. */
export function envFileReadByNode(cmdline: readonly string[], args: readonly string[]): string | undefined {
  // cmdline: node, node's options, [--], script, args… ; args: process.argv.slice(2).
  const script = cmdline.length - args.length - 1;
  if (script < 1) return undefined; // not the shape we know (a renamed process title): cannot tell
  for (let i = 0; i < args.length; i++) if (cmdline[script + 1 + i] !== args[i]) return undefined;
  if (cmdline[script - 1] === "--") return undefined;
  for (const a of args) {
    if (a === "--") return undefined; // Node's scan stops here as well
    if (a.startsWith("--env-file")) return a;
  }
  return undefined;
}

/** /proc/self/cmdline split into arguments; undefined where there is no /proc. */
export function readCmdline(read: (file: string) => string): string[] | undefined {
  let text: string;
  try {
    text = read("/proc/self/cmdline");
  } catch {
    return undefined;
  }
  const parts = text.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}
