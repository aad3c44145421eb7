// Shell completion scripts for bash, zsh and fish, generated from the command tree (tree.ts): the
// commands, groups, each command's options, and how each option's value completes. Static
// scripts: completing never runs imagekeeper. The same text is committed in dist/completions/ (the
// Nix package installs it; CI checks it is fresh) and printed by `imagekeeper completion SHELL`.
import type { CommandInfo, CommandTree, OptionInfo } from "./tree.js";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

const HEADER = "Generated from imagekeeper's command definitions (scripts/build.mjs); do not edit.";

/** Every option that takes a value, in any command or globally: skipped with its value when finding the command. */
function valueOptions(t: CommandTree): string[] {
  const names = new Set<string>();
  for (const o of [...t.globalOptions, ...t.commands.flatMap((c) => c.options)])
    if (o.value) names.add(o.name);
  return [...names].sort();
}

function topWords(t: CommandTree): { word: string; summary: string }[] {
  const seen = new Set<string>();
  const out: { word: string; summary: string }[] = [];
  for (const c of t.commands) {
    const w = c.name.split(" ")[0]!;
    if (seen.has(w)) continue;
    seen.add(w);
    const group = t.groups.find((g) => g.name === w);
    out.push({ word: w, summary: group && c.name !== w ? group.summary : c.summary });
  }
  out.push({ word: "help", summary: "show the help of a command or group" });
  return out;
}

const subcommands = (t: CommandTree, group: string) =>
  t.commands
    .filter((c) => c.name.startsWith(`${group} `))
    .map((c) => ({ word: c.name.slice(group.length + 1), c }));

const flags = (o: OptionInfo) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])];

// ------------------------------------------------------------------------------------------------
// bash

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bashValue(o: OptionInfo): string {
  const c = o.complete;
  if (c === "file") return 'compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur")';
  if (c === "dir") return 'compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur")';
  if (c === "command") return 'mapfile -t COMPREPLY < <(compgen -c -- "$cur")';
  if (Array.isArray(c)) return `mapfile -t COMPREPLY < <(compgen -W ${shq(c.join(" "))} -- "$cur")`;
  return "COMPREPLY=()";
}

export function bashCompletion(t: CommandTree): string {
  const L: string[] = [];
  L.push(`# bash completion for imagekeeper ${t.version}. ${HEADER}`);
  L.push("# Install: source it, or put it in /usr/share/bash-completion/completions/imagekeeper.");
  L.push("_imagekeeper() {");
  L.push('  local cur="${COMP_WORDS[COMP_CWORD]}" prev="" w i skip=0 dd=-1 cmd=""');
  L.push('  (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"');
  L.push("  local -a words=()");
  L.push("  # The command words: what is neither an option nor an option's value.");
  L.push("  for (( i = 1; i < COMP_CWORD; i++ )); do");
  L.push('    w="${COMP_WORDS[i]}"');
  L.push("    if (( skip )); then skip=0; continue; fi");
  L.push('    case "$w" in');
  L.push("      --) dd=$i; break ;;");
  L.push(
    `      ${valueOptions(t)
      .map((n) => `--${n}`)
      .join("|")}) skip=1 ;;`,
  );
  L.push("      -*) ;;");
  L.push('      *) words+=("$w") ;;');
  L.push("    esac");
  L.push("  done");
  const groups = t.groups.map((g) => g.name);
  L.push('  case "${words[0]}" in');
  L.push(`    ${groups.join("|")}) cmd="\${words[0]}\${words[1]:+ \${words[1]}}" ;;`);
  L.push('    *) cmd="${words[0]}" ;;');
  L.push("  esac");
  // After `--`: the child command line (run).
  const child = t.commands.filter((c) => c.child).map((c) => c.name);
  if (child.length) {
    L.push(`  if (( dd > 0 )); then`);
    L.push(`    case "$cmd" in`);
    L.push(`      ${child.join("|")})`);
    L.push('        if (( COMP_CWORD == dd + 1 )); then mapfile -t COMPREPLY < <(compgen -c -- "$cur")');
    L.push("        else compopt -o default 2>/dev/null; COMPREPLY=(); fi ;;");
    L.push("      *) COMPREPLY=() ;;");
    L.push("    esac");
    L.push("    return 0");
    L.push("  fi");
  }
  // The value of an option.
  L.push('  case "$prev" in');
  for (const o of t.globalOptions.filter((x) => x.value))
    L.push(`    --${o.name}) ${bashValue(o)}; return 0 ;;`);
  L.push("  esac");
  L.push('  case "$cmd:$prev" in');
  for (const c of t.commands)
    for (const o of c.options.filter((x) => x.value))
      L.push(`    ${shq(`${c.name}:--${o.name}`)}) ${bashValue(o)}; return 0 ;;`);
  L.push("  esac");
  const globals = t.globalOptions.map((o) => `--${o.name}`).join(" ");
  L.push(`  local globals=${shq(globals)} opts=""`);
  L.push('  case "$cmd" in');
  L.push(
    `    "") mapfile -t COMPREPLY < <(compgen -W ${shq(
      topWords(t)
        .map((w) => w.word)
        .join(" "),
    )} -- "$cur")`,
  );
  L.push(
    '        [[ "$cur" == -* ]] && mapfile -t COMPREPLY < <(compgen -W "$globals" -- "$cur"); return 0 ;;',
  );
  for (const g of groups)
    L.push(
      `    ${g}) mapfile -t COMPREPLY < <(compgen -W ${shq(
        subcommands(t, g)
          .map((s) => s.word)
          .join(" "),
      )} -- "$cur"); return 0 ;;`,
    );
  L.push("    help)");
  L.push(
    `      if (( \${#words[@]} == 1 )); then mapfile -t COMPREPLY < <(compgen -W ${shq(
      topWords(t)
        .filter((w) => w.word !== "help")
        .map((w) => w.word)
        .join(" "),
    )} -- "$cur")`,
  );
  L.push('      else case "${words[1]}" in');
  for (const g of groups)
    L.push(
      `        ${g}) mapfile -t COMPREPLY < <(compgen -W ${shq(
        subcommands(t, g)
          .map((s) => s.word)
          .join(" "),
      )} -- "$cur") ;;`,
    );
  L.push("        *) COMPREPLY=() ;;");
  L.push("      esac; fi; return 0 ;;");
  for (const c of t.commands) {
    const opts = c.options.flatMap(flags).filter((f) => f.startsWith("--"));
    L.push(`    ${shq(c.name)}) opts=${shq(opts.join(" "))}`);
    if (c.positional && !c.positional.arg.startsWith("-"))
      L.push(
        `      if [[ "$cur" != -* ]]; then ${bashValue({ ...noOption, ...(c.positional.complete ? { complete: c.positional.complete } : {}) })}; return 0; fi`,
      );
    L.push("      ;;");
  }
  L.push("    *) COMPREPLY=(); return 0 ;;");
  L.push("  esac");
  L.push('  mapfile -t COMPREPLY < <(compgen -W "$opts $globals" -- "$cur")');
  L.push("  return 0");
  L.push("}");
  L.push("complete -F _imagekeeper imagekeeper");
  return `${L.join("\n")}\n`;
}

const noOption: OptionInfo = { name: "", value: true, multiple: false, arg: "", help: "" };

// ------------------------------------------------------------------------------------------------
// zsh

/** Text inside a zsh single-quoted _arguments spec: quotes closed and reopened; [ ] : escaped. */
const zdesc = (s: string) =>
  s
    .replace(/\\/g, "\\\\")
    .replace(/'/g, `'\\''`)
    .replace(/\[/g, "\\[")
    .replace(/\]/g, "\\]")
    .replace(/:/g, "\\:");

function zshAction(c: OptionInfo["complete"]): string {
  if (c === "file") return "_files";
  if (c === "dir") return "_files -/";
  if (c === "command") return "_command_names -e";
  if (Array.isArray(c)) return `(${c.join(" ")})`;
  return " ";
}

function zshOption(o: OptionInfo): string {
  const desc = `[${zdesc(o.help || o.name)}]`;
  const value = o.value ? `:${zdesc(o.arg.toLowerCase())}:${zshAction(o.complete)}` : "";
  const rep = o.multiple ? "*" : "";
  const name = o.value ? `--${o.name}=` : `--${o.name}`;
  if (o.short) {
    const ex = o.multiple ? "" : `(-${o.short} --${o.name})`;
    return `'${ex}'{${rep}-${o.short},${rep}${name}}'${desc}${value}'`;
  }
  return `'${rep}${name}${desc}${value}'`;
}

const zname = (c: CommandInfo) => `_imagekeeper_${c.name.replace(/[^a-z0-9]/g, "_")}`;

export function zshCompletion(t: CommandTree): string {
  const L: string[] = [];
  L.push("#compdef imagekeeper");
  L.push(`# zsh completion for imagekeeper ${t.version}. ${HEADER}`);
  L.push("# Install: put it as _imagekeeper in a directory on $fpath, before compinit.");
  L.push("");
  L.push("_imagekeeper_globals=(");
  for (const o of t.globalOptions) L.push(`  ${zshOption(o)}`);
  L.push(")");
  L.push("");
  for (const c of t.commands) {
    L.push(`${zname(c)}() {`);
    const args = [...c.options.map(zshOption), "$_imagekeeper_globals[@]"];
    if (c.child) {
      // `run [options] -- CMD …`: after `--`, complete a command line of its own.
      L.push("  local i=${words[(i)--]}");
      L.push("  if (( i < CURRENT )); then");
      L.push('    words=("${(@)words[i+1,-1]}"); (( CURRENT -= i ))');
      L.push("    _normal; return");
      L.push("  fi");
    }
    if (c.positional)
      args.push(`'1:${zdesc(c.positional.arg.toLowerCase())}:${zshAction(c.positional.complete)}'`);
    L.push(`  _arguments -s -S \\`);
    L.push(args.map((a) => `    ${a}`).join(" \\\n"));
    L.push("}");
    L.push("");
  }
  const describe = (name: string, items: { word: string; summary: string }[], tag: string) => {
    L.push(`  local -a ${name}=(`);
    for (const i of items) L.push(`    '${i.word}:${i.summary.replace(/'/g, `'\\''`)}'`);
    L.push("  )");
    L.push(`  _describe -t commands '${tag}' ${name}`);
  };
  for (const g of t.groups) {
    L.push(`_imagekeeper_group_${g.name}() {`);
    L.push("  local curcontext=$curcontext state line");
    L.push("  _arguments -C '1: :->sub' '*:: :->args' && return");
    L.push("  if [[ $state == sub ]]; then");
    describe(
      "subs",
      subcommands(t, g.name).map((s) => ({ word: s.word, summary: s.c.summary })),
      `imagekeeper ${g.name} command`,
    );
    L.push("    return");
    L.push("  fi");
    L.push("  case $line[1] in");
    for (const s of subcommands(t, g.name)) L.push(`    ${s.word}) ${zname(s.c)} ;;`);
    L.push("  esac");
    L.push("}");
    L.push("");
  }
  L.push("_imagekeeper() {");
  L.push("  local curcontext=$curcontext state line");
  L.push("  _arguments -C -s $_imagekeeper_globals '1: :->command' '*:: :->args' && return");
  L.push("  if [[ $state == command ]]; then");
  describe("cmds", topWords(t), "imagekeeper command");
  L.push("    return");
  L.push("  fi");
  L.push("  case $line[1] in");
  for (const g of t.groups) L.push(`    ${g.name}) _imagekeeper_group_${g.name} ;;`);
  for (const c of t.commands.filter((x) => !x.name.includes(" "))) L.push(`    ${c.name}) ${zname(c)} ;;`);
  L.push("    help)");
  describe(
    "topics",
    topWords(t).filter((w) => w.word !== "help"),
    "command",
  );
  L.push("      ;;");
  L.push("  esac");
  L.push("}");
  L.push("");
  // Autoloaded from $fpath the file's body is the function; sourced directly it must register itself.
  L.push("if [[ $funcstack[1] == _imagekeeper ]]; then");
  L.push('  _imagekeeper "$@"');
  L.push("else");
  L.push("  compdef _imagekeeper imagekeeper");
  L.push("fi");
  return `${L.join("\n")}\n`;
}

// ------------------------------------------------------------------------------------------------
// fish

const fq = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function fishValue(c: OptionInfo["complete"]): string {
  if (c === "file") return "-r -F";
  if (c === "dir") return "-r -f -a '(__fish_complete_directories)'";
  if (c === "command") return "-r -f -a '(__fish_complete_command)'";
  if (Array.isArray(c)) return `-r -f -a ${fq(c.join(" "))}`;
  return "-r -f";
}

function fishOption(o: OptionInfo, cond: string | undefined): string {
  const parts = ["complete -c imagekeeper"];
  if (cond) parts.push(`-n ${fq(cond)}`);
  parts.push(`-l ${o.name}`);
  if (o.short) parts.push(`-s ${o.short}`);
  if (o.value) parts.push(fishValue(o.complete));
  if (o.help) parts.push(`-d ${fq(o.help)}`);
  return parts.join(" ");
}

export function fishCompletion(t: CommandTree): string {
  const L: string[] = [];
  L.push(`# fish completion for imagekeeper ${t.version}. ${HEADER}`);
  L.push("# Install: put it as imagekeeper.fish in ~/.config/fish/completions or a vendor completions dir.");
  L.push("");
  L.push("# The command words on the line so far: neither options nor their values, up to `--`.");
  L.push("function __imagekeeper_words");
  L.push("    set -l skip 0");
  L.push("    for w in (commandline -opc)[2..-1]");
  L.push("        if test $skip = 1");
  L.push("            set skip 0");
  L.push("            continue");
  L.push("        end");
  L.push("        switch $w");
  L.push("            case --");
  L.push("                return");
  L.push(
    `            case ${valueOptions(t)
      .map((n) => `--${n}`)
      .join(" ")}`,
  );
  L.push("                set skip 1");
  L.push("            case '-*'");
  L.push("            case '*'");
  L.push("                echo $w");
  L.push("        end");
  L.push("    end");
  L.push("end");
  L.push("");
  L.push("# True when the words on the line are exactly these.");
  L.push("function __imagekeeper_at");
  L.push("    set -l w (__imagekeeper_words)");
  L.push('    test "$w" = "$argv"');
  L.push("end");
  L.push("");
  L.push("# True when the command is this one (its words start the line's words).");
  L.push("function __imagekeeper_using");
  L.push("    set -l w (__imagekeeper_words)");
  L.push("    set -l n (count $argv)");
  L.push("    test (count $w) -ge $n; or return 1");
  L.push('    test "$w[1..$n]" = "$argv"');
  L.push("end");
  L.push("");
  L.push("# True after `--` (the command that run runs).");
  L.push("function __imagekeeper_after_dashdash");
  L.push("    contains -- -- (commandline -opc)[2..-1]");
  L.push("end");
  L.push("");
  L.push("complete -c imagekeeper -f");
  for (const w of topWords(t))
    L.push(`complete -c imagekeeper -n '__imagekeeper_at' -a ${fq(w.word)} -d ${fq(w.summary)}`);
  for (const g of t.groups)
    for (const s of subcommands(t, g.name))
      L.push(
        `complete -c imagekeeper -n ${fq(`__imagekeeper_at ${g.name}`)} -a ${fq(s.word)} -d ${fq(s.c.summary)}`,
      );
  for (const w of topWords(t).filter((x) => x.word !== "help"))
    L.push(`complete -c imagekeeper -n '__imagekeeper_at help' -a ${fq(w.word)} -d ${fq(w.summary)}`);
  for (const o of t.globalOptions) L.push(fishOption(o, "not __imagekeeper_after_dashdash"));
  for (const c of t.commands) {
    const cond = `__imagekeeper_using ${c.name}; and not __imagekeeper_after_dashdash`;
    for (const o of c.options) L.push(fishOption(o, cond));
    if (c.positional?.complete) {
      const pc = c.positional.complete;
      L.push(
        `complete -c imagekeeper -n ${fq(`__imagekeeper_at ${c.name}`)} ${Array.isArray(pc) ? `-a ${fq(pc.join(" "))}` : fishValue(pc).replace("-r ", "")}`,
      );
    }
    if (c.child) {
      L.push(
        `complete -c imagekeeper -n ${fq(`__imagekeeper_using ${c.name}; and __imagekeeper_after_dashdash`)} -F -a '(__fish_complete_command)'`,
      );
    }
  }
  return `${L.join("\n")}\n`;
}

export function completionScript(shell: Shell, t: CommandTree): string {
  return shell === "bash" ? bashCompletion(t) : shell === "zsh" ? zshCompletion(t) : fishCompletion(t);
}
