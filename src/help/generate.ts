// The files generated from the command definitions, by path under dist/: the man page and the
// shell completions. scripts/build.mjs writes them beside the bundle; CI checks the committed ones
// are fresh (scripts/test.sh), and the Nix package installs them.
import { COMMANDS, GROUPS, loadAll, VERSION } from "../commands/index.js";
import { bashCompletion, fishCompletion, zshCompletion } from "./completion.js";
import { manPage } from "./manpage.js";
import { type CommandTree, commandTree } from "./tree.js";

export async function loadTree(): Promise<CommandTree> {
  return commandTree(VERSION, GROUPS, COMMANDS, await loadAll());
}

export const GENERATED = [
  "man/imagekeeper.1",
  "completions/imagekeeper.bash",
  "completions/_imagekeeper",
  "completions/imagekeeper.fish",
] as const;

export async function generatedFiles(): Promise<Record<(typeof GENERATED)[number], string>> {
  const t = await loadTree();
  return {
    "man/imagekeeper.1": manPage(t),
    "completions/imagekeeper.bash": bashCompletion(t),
    "completions/_imagekeeper": zshCompletion(t),
    "completions/imagekeeper.fish": fishCompletion(t),
  };
}
