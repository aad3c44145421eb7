// `imagekeeper completion bash|zsh|fish`: print a shell completion script, the same text the
// package installs (dist/completions/, generated from the command definitions). `--json` prints
// the command tree the scripts are generated from.
import { InputError } from "../errors.js";
import { completionScript, SHELLS, type Shell } from "../help/completion.js";
import { loadTree } from "../help/generate.js";
import type { CommandSpec } from "./types.js";

const HELP = `Usage: imagekeeper completion bash|zsh|fish
       imagekeeper completion --json

Prints the completion script for the shell on stdout: commands, groups, each command's options,
and the values of those that have a known set (files, directories, pull policies, log levels).
Installed packages already carry it (share/bash-completion/completions/imagekeeper,
share/zsh/site-functions/_imagekeeper, share/fish/vendor_completions.d/imagekeeper.fish).
By hand:
  bash   source <(imagekeeper completion bash)            (e.g. in ~/.bashrc)
  zsh    imagekeeper completion zsh > ~/.zfunc/_imagekeeper  (~/.zfunc on $fpath before compinit)
  fish   imagekeeper completion fish > ~/.config/fish/completions/imagekeeper.fish

Options:
  --json   print the command tree the scripts are generated from instead: {program, version,
           globalOptions, groups, commands: [{name, summary, usage, options: [{name, value,
           arg, help, complete}], positional, child}]}

Exit status:
  0        printed
  2        no shell, or an unknown one
  70       an internal error
  130/143  interrupted by SIGINT/SIGTERM`;

export const completionCommand: CommandSpec = {
  name: "completion",
  summary: "print the shell completion script for bash, zsh or fish",
  help: HELP,
  options: {},
  positionals: { arg: "SHELL", complete: SHELLS },
  async run(ctx, _values, positionals) {
    if (ctx.json) {
      if (positionals.length)
        throw new InputError(
          "usage",
          "imagekeeper completion: --json prints the command tree, for no shell",
          {
            hint: "Drop the shell name, or drop --json.",
          },
        );
      ctx.out(`${JSON.stringify(await loadTree())}\n`);
      return { kind: "ok" };
    }
    const shell = positionals[0];
    if (positionals.length !== 1 || !(SHELLS as readonly string[]).includes(shell!)) {
      throw new InputError(
        "usage",
        shell === undefined
          ? "imagekeeper completion: which shell?"
          : `imagekeeper completion: ${positionals.length > 1 ? "one shell only" : `no completion for "${shell}"`}`,
        { hint: `Name one of ${SHELLS.join(", ")}: e.g. imagekeeper completion bash.` },
      );
    }
    ctx.out(completionScript(shell as Shell, await loadTree()));
    return { kind: "ok" };
  },
};
