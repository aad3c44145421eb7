// Every subcommand, in the order --help lists them. Each lives in its own file and is loaded only
// when it runs: the bundle evaluates one command's module graph, not all of them (start-up is most
// of a warm prepull's cost, docs/performance.md). test/unit/commands.test.ts checks that each
// entry's name and summary match its spec.
import type { CommandSpec } from "./types.js";

export { VERSION } from "../version.js";

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandSpec>;
}

export const COMMANDS: CommandEntry[] = [
  {
    name: "env",
    summary: "the variables the deploy will see from an app .env",
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
    name: "auth login",
    summary: "write a registry credential into a Docker client config",
    load: async () => (await import("./auth.js")).authLoginCommand,
  },
  {
    name: "config check",
    summary: "validate a config file and print it with defaults filled in",
    load: async () => (await import("./config-check.js")).configCheck,
  },
];
