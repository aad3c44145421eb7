// The one place that builds docker CLI argv (pure, table-tested), and the runner that executes it
// through src/exec.ts. Mutations go through the CLI so the client's credentials (config.json,
// credential helpers) and the daemon's own semantics apply. By policy there is no builder here for
// `--force`, `--all`, `system prune` or volume removal: a removal that needs them does not happen.
import { type RunOptions, type RunResult, run } from "../exec.js";

export const dockerArgs = {
  pull: (ref: string): string[] => ["pull", ref],
  /** Untagged-and-unused removal only: never --force (docker refuses images that containers use). */
  imageRm: (refsOrIds: string[]): string[] => ["image", "rm", ...refsOrIds],
  /**
   * Dangling images created more than `olderThanMs` ago: `docker image prune` without --all. It asks
   * for confirmation: the runner answers "y" on stdin (CONFIRM) rather than passing -f, so no forced
   * flag appears in any removal we run. `until=` takes a Go duration; whole seconds, rounded up, so
   * a sub-hour minAge ("90s" in tests) is not rounded away.
   */
  danglingPrune: (olderThanMs: number): string[] => [
    "image",
    "prune",
    "--filter",
    `until=${goSeconds(olderThanMs)}`,
  ],
  /** Build cache unused for more than `olderThanMs`; without --all only dangling cache goes. */
  builderPrune: (olderThanMs: number): string[] => [
    "builder",
    "prune",
    "--filter",
    `until=${goSeconds(olderThanMs)}`,
  ],
  stackConfig: (files: string[]): string[] => [
    "stack",
    "config",
    ...files.flatMap((f) => ["--compose-file", f]),
  ],
} as const;

/** A duration as Go's time.ParseDuration reads it, in whole seconds. */
function goSeconds(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))}s`;
}

/** stdin for the prune commands' "Are you sure? [y/N]". */
export const CONFIRM = "y\n";

export interface Docker {
  binary: string;
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
}

export function docker(binary: string): Docker {
  return { binary, run: (args, opts) => run(binary, args, opts) };
}
