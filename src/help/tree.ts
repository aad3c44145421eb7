// The command tree: every command with its options, each option's placeholder, one-line help and
// how a shell completes its value. Built from the specs (src/commands/) and nothing else, so the
// man page, the completions and `imagekeeper completion --json` say what the parser accepts.
// An option's placeholder and help line may be declared on the option; when they are not, they
// are read from the command's help text (`Usage: … --recipe DIR …`, `  --recipe DIR   the …`).
import { GLOBAL_OPTIONS } from "../commands/argv.js";
import type { CommandEntry } from "../commands/index.js";
import type { CommandSpec, Completion, OptionSpec, OptionSpecs } from "../commands/types.js";

export interface OptionInfo {
  name: string;
  short?: string;
  /** Takes a value. */
  value: boolean;
  multiple: boolean;
  /** The value's placeholder ("DIR", "auto|missing|always"); "" for a flag. */
  arg: string;
  /** One line; "" when neither the option nor the help text says. */
  help: string;
  /** How to complete the value; undefined: anything. */
  complete?: Completion;
}

export interface CommandInfo {
  name: string;
  summary: string;
  /** The help text's "Usage:" line(s), without "Usage: ". */
  usage: string;
  help: string;
  options: OptionInfo[];
  /** A positional argument (lease release ID, completion SHELL). */
  positional?: { arg: string; complete?: Completion };
  /** Takes `-- CMD [ARG…]` (run). */
  child: boolean;
}

export interface CommandTree {
  program: "imagekeeper";
  version: string;
  globalOptions: OptionInfo[];
  groups: { name: string; summary: string }[];
  commands: CommandInfo[];
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The usage part of a help text: from "Usage:" to the first blank line. */
export function usageOf(help: string): string {
  const m = /Usage:\s*([\s\S]*?)(?:\n\s*\n|$)/.exec(help);
  return (m?.[1] ?? "").replace(/\s*\n\s*/g, " ").trim();
}

/** Placeholder after `--name` in the usage (`--recipe DIR`, `--pull-policy auto|missing|always`). */
export function placeholderIn(text: string, name: string): string | undefined {
  const re = new RegExp(
    `--${escapeRe(name)}[ =]([A-Z][A-Z0-9_]*(?:=[A-Z][A-Z0-9_]*)?|[a-z0-9]+(?:\\|[a-z0-9]+)+)(?![\\w-])`,
  );
  return re.exec(text)?.[1];
}

/** The first line describing `--name` in a help text's option list. */
export function optionLineIn(help: string, name: string): string | undefined {
  const re = new RegExp(`^\\s+(?:-\\w, )?--${escapeRe(name)}(?:[ =]\\S+)?(?: {2,}|\\t+)(\\S.*)$`, "m");
  return re.exec(help)?.[1]?.trim();
}

export function completionOf(arg: string): Completion | undefined {
  if (arg.includes("|")) return arg.split("|");
  if (/^(DIR|DIRECTORY)$/.test(arg)) return "dir";
  if (/^(FILE|F|PATH)$/.test(arg)) return "file";
  if (arg === "CMD") return "command";
  return undefined;
}

function optionInfo(name: string, o: OptionSpec, help: string): OptionInfo {
  const value = o.type === "string";
  const arg = value
    ? (o.arg ?? placeholderIn(usageOf(help), name) ?? placeholderIn(help, name) ?? "VALUE")
    : "";
  const complete = o.complete ?? (value ? completionOf(arg) : undefined);
  return {
    name,
    ...(o.short ? { short: o.short } : {}),
    value,
    multiple: o.multiple ?? false,
    arg,
    help: o.help ?? optionLineIn(help, name) ?? "",
    ...(complete ? { complete } : {}),
  };
}

export function optionsOf(options: OptionSpecs, help: string, exclude: OptionSpecs = {}): OptionInfo[] {
  return Object.entries(options)
    .filter(([n, o]) => !o.hidden && !(n in exclude))
    .map(([n, o]) => optionInfo(n, o, help));
}

export function commandInfo(spec: CommandSpec, entry: Pick<CommandEntry, "stdoutIsChild">): CommandInfo {
  const p = spec.positionals;
  return {
    name: spec.name,
    summary: spec.summary,
    usage: usageOf(spec.help),
    help: spec.help,
    options: optionsOf(spec.options, spec.help, GLOBAL_OPTIONS),
    ...(typeof p === "object"
      ? { positional: { arg: p.arg, ...(p.complete ? { complete: p.complete } : {}) } }
      : {}),
    ...(p === true ? { positional: { arg: placeholderAfter(spec) ?? "ARG" } } : {}),
    child: entry.stdoutIsChild ?? false,
  };
}

/** For `positionals: true`: the upper-case word after the command name in its usage (ID). */
function placeholderAfter(spec: CommandSpec): string | undefined {
  const m = new RegExp(`${escapeRe(spec.name)}\\s+([A-Z][A-Z0-9_]*)`).exec(usageOf(spec.help));
  return m?.[1];
}

export function commandTree(
  version: string,
  groups: Readonly<Record<string, string>>,
  entries: readonly CommandEntry[],
  specs: readonly CommandSpec[],
): CommandTree {
  return {
    program: "imagekeeper",
    version,
    globalOptions: optionsOf(GLOBAL_OPTIONS, ""),
    groups: Object.entries(groups).map(([name, summary]) => ({ name, summary })),
    commands: specs.map((s, i) => commandInfo(s, entries[i]!)),
  };
}
