// The help texts: imagekeeper's own (from the registry alone: no command module is loaded), a
// group's, and a command's (its spec's text, plus the global options and where the docs are).
// `docs/X.md` in a help text becomes the installed file when $IMAGEKEEPER_DOC_DIR says where the
// docs are installed (the Nix package sets it to $out/share/doc/imagekeeper).
import { GLOBAL_OPTIONS } from "../commands/argv.js";
import { COMMANDS, GROUPS, groupEntries, VERSION } from "../commands/index.js";
import type { CommandSpec } from "../commands/types.js";
import { wrap } from "../ui/text.js";
import { optionsOf } from "./tree.js";

/** Help texts are written to 100 columns, like the commands' own. */
const HELP_WIDTH = 100;

export const EXIT_STATUS =
  "0 ok · 1 a pull (or a doctor check) failed · 2 bad input, nothing done · 3 Docker daemon unreachable · 4 lease wait timed out · 70 internal error · 130/143 interrupted · run: its command's status (126/127: could not be executed)";

/** `docs/prune.md` → `$IMAGEKEEPER_DOC_DIR/prune.md` when the docs are installed. */
export function docLinks(text: string, env: NodeJS.ProcessEnv): string {
  const dir = env.IMAGEKEEPER_DOC_DIR;
  if (!dir) return text;
  return text.replace(
    /(?<![\w/.-])docs\/([\w.-]+\.md)\b/g,
    (_m, f: string) => `${dir.replace(/\/+$/, "")}/${f}`,
  );
}

export function docsLine(env: NodeJS.ProcessEnv): string {
  const dir = env.IMAGEKEEPER_DOC_DIR;
  return dir
    ? `Docs: ${dir.replace(/\/+$/, "")}/ (operations.md, prepull.md, prune.md, leases.md, nixos.md); man imagekeeper.`
    : "Docs: man imagekeeper; docs/*.md in the source (operations.md, prepull.md, prune.md, leases.md).";
}

function optionLines(): string[] {
  const opts = optionsOf(GLOBAL_OPTIONS, "");
  const left = opts.map((o) => `  ${o.short ? `-${o.short}, ` : ""}--${o.name}${o.value ? ` ${o.arg}` : ""}`);
  const w = Math.max(...left.map((l) => l.length)) + 2;
  return opts.flatMap((o, i) => wrap(o.help, HELP_WIDTH, { first: left[i]!.padEnd(w) }));
}

export function topHelp(env: NodeJS.ProcessEnv): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return docLinks(
    [
      `imagekeeper ${VERSION}: keep a CI host's Docker images warm, pulled early and pruned safely.`,
      "",
      "Usage: imagekeeper [global options] COMMAND [options]",
      "",
      "Commands:",
      ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
      "",
      "Global options (before or after the command):",
      ...optionLines(),
      "",
      ...wrap(`Exit status: ${EXIT_STATUS}.`, HELP_WIDTH, { indent: "  " }),
      "",
      "imagekeeper help COMMAND (or COMMAND --help) shows a command's options; help GROUP a group's",
      `commands (${Object.keys(GROUPS).join(", ")}).`,
      docsLine(env),
    ].join("\n"),
    env,
  );
}

export function groupHelp(group: string, env: NodeJS.ProcessEnv): string {
  const entries = groupEntries(group);
  const w = Math.max(...entries.map((c) => c.name.length)) + 2;
  return [
    `Usage: imagekeeper ${group} ${entries.map((e) => e.name.slice(group.length + 1)).join("|")} [options]`,
    "",
    `${GROUPS[group] ?? ""}.`,
    "",
    "Commands:",
    ...entries.map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
    "",
    `imagekeeper help ${entries[0]?.name ?? group} (or ${entries[0]?.name ?? group} --help) shows its options.`,
    docsLine(env),
  ].join("\n");
}

export function commandHelp(spec: CommandSpec, env: NodeJS.ProcessEnv): string {
  const globals = optionsOf(GLOBAL_OPTIONS, "")
    .map((o) => `--${o.name}${o.value ? ` ${o.arg}` : ""}`)
    .join(", ");
  return docLinks(
    [
      spec.help.trimEnd(),
      "",
      `Global options (before or after the command): ${globals}; see imagekeeper --help.`,
      docsLine(env),
    ].join("\n"),
    env,
  );
}
