// Every subcommand, in the order --help lists them. Each lives in its own file and is loaded only
// when it runs: the bundle evaluates one command's module graph, not all of them (start-up is most
// of a warm prepull's cost, docs/performance.md). The registry holds only what the top-level help
// and the command lookup need (name, summary); everything else (help text, options) is in the
// spec the entry loads, which `--help`, the man page and the shell completions are generated from
// (src/help/). test/unit/commands.test.ts checks that each entry's name and summary match its spec.
//
// Adding a command: write src/commands/NAME.ts exporting a CommandSpec, add an entry here, run
// `npm run build` (regenerates dist/man and dist/completions) and commit those files.
import type { CommandSpec } from "./types.js";

export { VERSION } from "../version.js";

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandSpec>;
  /**
   * The command's stdout is its child's (`run`): its --json document and JSON errors go to stderr,
   * so a harness capturing the child's output never finds ours in it.
   */
  stdoutIsChild?: boolean;
}

/** Command groups: `imagekeeper GROUP --help` lists their subcommands. */
export const GROUPS: Readonly<Record<string, string>> = {
  lease: "run leases for CI runners that cannot wrap a job in one process",
  auth: "registry credentials in a Docker client config",
  config: "the config file",
};

export const COMMANDS: CommandEntry[] = [
  {
    name: "env",
    summary: "the variables the deploy will see: the app .env and the recipe's abra.sh exports",
    load: async () => (await import("./env.js")).envCommand,
  },
  {
    name: "images",
    summary: "the images a recipe's deploy will use, resolved as abra resolves them",
    load: async () => (await import("./images.js")).imagesCommand,
  },
  {
    name: "prepull",
    summary: "make sure a recipe's images are in the local store before the deploy",
    load: async () => (await import("./prepull.js")).prepullCommand,
  },
  {
    name: "run",
    summary: "run a command under a shared run lease (prune defers while it runs)",
    load: async () => (await import("./run.js")).runCommand,
    stdoutIsChild: true,
  },
  {
    name: "lease acquire",
    summary: "take a run lease for runners that cannot wrap a process",
    load: async () => (await import("./lease.js")).leaseAcquireCommand,
  },
  {
    name: "lease release",
    summary: "release a run lease taken with lease acquire",
    load: async () => (await import("./lease.js")).leaseReleaseCommand,
  },
  {
    name: "prune",
    summary: "remove unused images under disk pressure, by the prune policy",
    load: async () => (await import("./prune.js")).pruneCommand,
  },
  {
    name: "watch",
    summary: "record image uses from the engine's events (a long-running service)",
    load: async () => (await import("./watch.js")).watchCommand,
  },
  {
    name: "simulate",
    summary: "replay a CI trace through the prune policy at several disk sizes",
    load: async () => (await import("./simulate.js")).simulateCommand,
  },
  {
    name: "status",
    summary: "disk usage, live leases, last prune, ledger size",
    load: async () => (await import("./status.js")).statusCommand,
  },
  {
    name: "history",
    summary: "recent prepulls, prunes and image removals, from the state dir's journal",
    load: async () => (await import("./history.js")).historyCommand,
  },
  {
    name: "doctor",
    summary: "check this host's set-up: docker, daemon access, dirs, groups, tools, credentials, clock",
    load: async () => (await import("./doctor.js")).doctorCommand,
  },
  {
    name: "auth login",
    summary: "write a registry credential into a Docker client config",
    load: async () => (await import("./auth.js")).authLoginCommand,
  },
  {
    name: "config check",
    summary: "validate a config file and print it with defaults filled in",
    load: async () => (await import("./config-check.js")).configCheck,
  },
  {
    name: "completion",
    summary: "print the shell completion script for bash, zsh or fish",
    load: async () => (await import("./completion.js")).completionCommand,
  },
];

/** The entry named exactly `name` ("prune", "lease acquire"). */
export function findEntry(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The subcommands of a group ("lease" → lease acquire, lease release). */
export function groupEntries(group: string): CommandEntry[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `));
}

/** Load every spec: for generating the man page and completions, never on a command's start-up. */
export function loadAll(): Promise<CommandSpec[]> {
  return Promise.all(COMMANDS.map((c) => c.load()));
}
