// What a subcommand is: a spec (name, help, flags) and a plain async function. Commands return an
// Outcome or throw one of the named errors in src/errors.ts; src/cli.ts alone turns those into
// exit codes and printed errors.
import type { ParseArgsConfig } from "node:util";
import type { Config } from "../config/schema.js";

export type Outcome =
  | { kind: "ok" }
  /** The command ran and found failures it reported (e.g. an image failed to pull): exit 1. */
  | { kind: "failed" }
  /** `imagekeeper run`: pass the child's status through. */
  | { kind: "child-exit"; code: number };

export interface CommandContext {
  config: Config;
  configPath: string | undefined;
  /** Aborted on SIGINT/SIGTERM (unless the command handles signals itself). */
  signal: AbortSignal;
  /** Results go here (stdout); logs go to stderr through pino. */
  out: (text: string) => void;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandSpec {
  /** "prepull", or "lease acquire" for a subcommand of a group. */
  name: string;
  summary: string;
  /** Help text shown by --help (usage line and flags). */
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Positional arguments allowed (e.g. the lease id); `run` takes everything after `--`. */
  positionals?: boolean;
  /** The command installs its own SIGINT/SIGTERM handling (`run` forwards signals to its child). */
  ownsSignals?: boolean;
  run(ctx: CommandContext, values: FlagValues, positionals: string[]): Promise<Outcome>;
}
