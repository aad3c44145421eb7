// What a subcommand is: a spec (name, help, flags) and a plain async function. Commands return an
// Outcome or throw one of the named errors in src/errors.ts; src/cli.ts alone turns those into
// exit codes and printed errors. Help, `--help`, the man page and the shell completions are all
// generated from these specs (src/help/), so they cannot drift from what the parser accepts.
import type { Config } from "../config/schema.js";
import type { Terminal } from "../ui/terminal.js";

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
  /** Raw stderr, for what is not a log event (run's --json document: its stdout is the child's). */
  err: (text: string) => void;
  /** stdout is a terminal (the same as stdout.tty). */
  isTTY: boolean;
  /** stdout as a terminal (width, colour) or not: for tables and lists. */
  stdout: Terminal;
  /** stderr as a terminal (width, colour) or not: for progress and other lines for people. */
  stderr: Terminal;
  /** --json (a global option): print one JSON document instead of text. */
  json: boolean;
  /** --quiet: no progress or summary lines on stderr; warnings and errors only. */
  quiet: boolean;
  env: NodeJS.ProcessEnv;
}

export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** How a shell completes a value: file names, directory names, command names, or these words. */
export type Completion = "file" | "dir" | "command" | readonly string[];

export interface OptionSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  /**
   * The value's placeholder in help, man page and completion ("DIR", "FILE", "DURATION"). When
   * omitted it is read from the command's usage line (`--recipe DIR`).
   */
  arg?: string;
  /** One line for completion menus and the man page. When omitted: the option's line in `help`. */
  help?: string;
  /** How to complete the value. When omitted: from `arg` (DIR → dir, FILE → file, a|b → words). */
  complete?: Completion;
  /** Accepted but never offered: not in completions or the man page (auth login's refused --password). */
  hidden?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface PositionalSpec {
  /** Placeholder, e.g. "ID" or "SHELL". */
  arg: string;
  complete?: Completion;
}

export interface CommandSpec {
  /** "prepull", or "lease acquire" for a subcommand of a group. */
  name: string;
  summary: string;
  /**
   * Help text shown by --help: a "Usage:" line, what it does, each option on a line of its own
   * ("  --flag ARG   what it does"), and the exit statuses. `docs/X.md` references are rewritten to
   * the installed docs when $IMAGEKEEPER_DOC_DIR is set.
   */
  help: string;
  /** The command's own options; the global ones (--config, --json, …) are added by the CLI. */
  options: OptionSpecs;
  /** Positional arguments allowed (e.g. the lease id); `run` takes everything after `--`. */
  positionals?: boolean | PositionalSpec;
  /** The command installs its own SIGINT/SIGTERM handling (`run` forwards signals to its child). */
  ownsSignals?: boolean;
  run(ctx: CommandContext, values: FlagValues, positionals: string[]): Promise<Outcome>;
}
