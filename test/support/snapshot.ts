// A V8 startup snapshot of a bundle, built the way nix/package.nix builds it (scripts/snapshot-entry.cjs
// run by `node --build-snapshot`), with this process's Node: the blob fits only the Node that built it.
import { spawnSync } from "node:child_process";
import path from "node:path";

// From the repository root, where tests and benchmarks run (a bundled benchmark has no useful
// import.meta.url).
export const SNAPSHOT_ENTRY = path.resolve("scripts/snapshot-entry.cjs");

/** `opts`: the building process's environment and directory (default: this one's, the bundle's). */
export function buildSnapshot(
  bundle: string,
  blob: string,
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): void {
  const r = spawnSync(
    process.execPath,
    ["--snapshot-blob", blob, "--build-snapshot", SNAPSHOT_ENTRY, bundle],
    { encoding: "utf8", cwd: opts.cwd ?? path.dirname(bundle), env: opts.env ?? process.env },
  );
  if (r.status !== 0 || r.stderr !== "")
    throw new Error(`building the startup snapshot of ${bundle}: exit ${r.status}\n${r.stderr}`);
}

/** argv that starts `bundle` from `blob`: what the Nix wrapper executes. */
export const snapshotArgv = (blob: string, bundle: string, args: readonly string[]): string[] => [
  "--snapshot-blob",
  blob,
  "--",
  bundle,
  ...args,
];
