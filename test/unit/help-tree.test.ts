// The command tree that the man page and the completions are generated from.
import { describe, expect, it } from "vitest";
import { COMMANDS, GROUPS, loadAll, VERSION } from "../../src/commands/index.js";
import { bashCompletion, fishCompletion, zshCompletion } from "../../src/help/completion.js";
import { manPage, roff } from "../../src/help/manpage.js";
import {
  type CommandTree,
  commandTree,
  completionOf,
  optionLineIn,
  placeholderIn,
  usageOf,
} from "../../src/help/tree.js";

let tree: CommandTree;
const load = async () => (tree ??= commandTree(VERSION, GROUPS, COMMANDS, await loadAll()));

describe("every command's options, from its spec and its help text", () => {
  it("every option a command accepts is in its help text (hidden ones excepted), with a placeholder for values", async () => {
    const specs = await loadAll();
    for (const spec of specs) {
      for (const [name, o] of Object.entries(spec.options)) {
        if (o.hidden) continue;
        expect(spec.help, `${spec.name} --${name}`).toMatch(new RegExp(`--${name}\\b`));
      }
    }
    const t = await load();
    for (const c of t.commands)
      for (const o of c.options.filter((x) => x.value))
        expect(o.arg, `${c.name} --${o.name}`).not.toBe("VALUE");
  });

  it("reads placeholders and choices from the usage line", async () => {
    const t = await load();
    const prepull = t.commands.find((c) => c.name === "prepull")!;
    const opt = (n: string) => prepull.options.find((o) => o.name === n)!;
    expect(opt("recipe")).toMatchObject({ arg: "DIR", complete: "dir", value: true });
    expect(opt("env-file")).toMatchObject({ arg: "FILE", complete: "file" });
    expect(opt("set")).toMatchObject({ arg: "KEY=VALUE", multiple: true });
    expect(opt("pull-policy")).toMatchObject({ complete: ["auto", "missing", "always"] });
    expect(opt("dry-run")).toMatchObject({ value: false, arg: "" });
    expect(prepull.options.map((o) => o.name)).not.toContain("json");
    const auth = t.commands.find((c) => c.name === "auth login")!;
    expect(auth.options.map((o) => o.name)).not.toContain("password");
    expect(t.commands.find((c) => c.name === "run")!.child).toBe(true);
    expect(t.commands.find((c) => c.name === "lease release")!.positional).toEqual({ arg: "ID" });
    expect(t.commands.find((c) => c.name === "completion")!.positional).toEqual({
      arg: "SHELL",
      complete: ["bash", "zsh", "fish"],
    });
  });

  it.each([
    ["Usage: x --a DIR [--b]\n\nmore", "a", "DIR"],
    ["Usage: x [--mode auto|off]", "mode", "auto|off"],
    ["Usage: x [--set KEY=VALUE]…", "set", "KEY=VALUE"],
    ["Usage: x [--b] [--c N]", "b", undefined],
    ["Usage: x [--ab N]", "a", undefined],
    ["Usage: x [--a-b N]", "a", undefined],
  ])("placeholderIn(%j, %s)", (help, name, want) => {
    expect(placeholderIn(usageOf(help), name)).toBe(want);
  });

  it.each([
    ["  --wait DURATION  how long to wait\n", "wait", "how long to wait"],
    ["  -q, --quiet   less\n", "quiet", "less"],
    ["  --json     print one\n", "json", "print one"],
    ["  --recipe DIR        the recipe's checkout\n", "recipe", "the recipe's checkout"],
    ["Usage: x --wait DURATION\n", "wait", undefined],
  ])("optionLineIn(%j, %s)", (help, name, want) => {
    expect(optionLineIn(help, name)).toBe(want);
  });

  it.each([
    ["DIR", "dir"],
    ["FILE", "file"],
    ["F", "file"],
    ["CMD", "command"],
    ["a|b", ["a", "b"]],
    ["N", undefined],
    ["DURATION", undefined],
  ])("completionOf(%s)", (arg, want) => {
    expect(completionOf(arg)).toEqual(want);
  });

  it("usageOf joins a usage spread over lines", () => {
    expect(usageOf("Usage: imagekeeper x --a A\n          [--b B]\n\nText")).toBe(
      "imagekeeper x --a A [--b B]",
    );
  });
});

describe("generated from the tree", () => {
  it("every command and option is in each completion script and the man page", async () => {
    const t = await load();
    const scripts = { bash: bashCompletion(t), zsh: zshCompletion(t), fish: fishCompletion(t) };
    const man = manPage(t);
    for (const c of t.commands) {
      expect(man).toContain(`.SS "imagekeeper ${roff(c.name)}"`);
      for (const o of c.options) {
        expect(scripts.bash, `${c.name} --${o.name}`).toContain(`--${o.name}`);
        expect(scripts.zsh).toMatch(new RegExp(`'\\*?--${o.name}=?\\[`));
        expect(scripts.fish).toContain(
          `-n '__imagekeeper_using ${c.name}; and not __imagekeeper_after_dashdash' -l ${o.name}`,
        );
      }
    }
    for (const o of t.globalOptions) expect(man).toContain(`\\fB${roff(`--${o.name}`)}\\fR`);
  });

  it.each([
    ["a-b", "a\\-b"],
    [".start", "\\&.start"],
    ["'quote", "\\&'quote"],
    ["back\\slash", "back\\eslash"],
    ["a … b", "a \\[u2026] b"],
    ["ok · ok", "ok \\[u00B7] ok"],
    ["🐳", "\\[u1F433]"],
    ["line\n.next", "line\n\\&.next"],
  ])("roff(%j)", (s, want) => {
    expect(roff(s)).toBe(want);
  });
});
