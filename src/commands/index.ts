// Every subcommand, in the order --help lists them. Each lives in its own file.
import { configCheck } from "./config-check.js";
import { envCommand } from "./env.js";
import { imagesCommand } from "./images.js";
import { notYet } from "./not-yet.js";
import { prepullCommand } from "./prepull.js";
import type { CommandSpec } from "./types.js";

export { VERSION } from "../version.js";

export const COMMANDS: CommandSpec[] = [
  envCommand,
  imagesCommand,
  prepullCommand,
  notYet("run", "run a command under a shared run lease (prune defers while it runs)"),
  notYet("lease acquire", "take a run lease for runners that cannot wrap a process"),
  notYet("lease release", "release a run lease taken with lease acquire"),
  notYet("prune", "remove unused images under disk pressure, by the prune policy"),
  notYet("status", "disk usage, live leases, last prune, ledger size"),
  notYet("auth login", "write a registry credential into a Docker client config"),
  configCheck,
];
