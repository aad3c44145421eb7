// The generated shell completions and man page, exercised by the real tools: bash completes
// through its programmable completion (COMP_WORDS/COMP_CWORD as readline sets them), fish through
// `complete -C`, zsh through its completion system typing TAB in a tmux pane, and the man page is
// rendered by man(1)/groff with warnings on. `imagekeeper completion SHELL` prints exactly what the
// build generated beside the bundle (what the package installs).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cli } from "../support/cli.js";

const bin = inject("imagekeeperBin");
const generated = (rel: string) => path.join(path.dirname(bin), rel);
const work = mkdtempSync(path.join(tmpdir(), "ikcompl-"));
const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

// A directory and a file to complete names from.
const sample = path.join(work, "sample");
mkdirSync(path.join(sample, "recipes", "gitea"), { recursive: true });
writeFileSync(path.join(sample, "recipes", "app.env"), "");

describe("imagekeeper completion SHELL prints what the build generated", () => {
  it.each([
    ["bash", "completions/imagekeeper.bash"],
    ["zsh", "completions/_imagekeeper"],
    ["fish", "completions/imagekeeper.fish"],
  ])("%s", async (shell, rel) => {
    const r = await cli(["completion", shell]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(generated(rel), "utf8"));
  });

  it("an unknown shell is a usage error", async () => {
    const r = await cli(["completion", "tcsh"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no completion for "tcsh"');
  });
});

describe("bash", () => {
  /** Complete the last word of `words` as bash's programmable completion would. */
  function complete(words: string[]): string[] {
    const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _imagekeeper; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = execFileSync(
      "bash",
      ["--norc", "-c", script, "bash", generated("completions/imagekeeper.bash"), ...words],
      {
        cwd: sample,
        encoding: "utf8",
      },
    );
    return [...new Set(out.split("\n").filter((l) => l !== ""))].sort();
  }

  it.each([
    [["imagekeeper", "pre"], ["prepull"]],
    [
      ["imagekeeper", "p"],
      ["prepull", "prune"],
    ],
    [
      ["imagekeeper", "lease", ""],
      ["acquire", "release"],
    ],
    [["imagekeeper", "--config", "x.json", "lease", "r"], ["release"]],
    [["imagekeeper", "--json", "conf"], ["config"]],
    [["imagekeeper", "config", ""], ["check"]],
    [
      ["imagekeeper", "prepull", "--pull-policy", "a"],
      ["always", "auto"],
    ],
    [
      ["imagekeeper", "prepull", "--re"],
      ["--recipe", "--ref", "--retries"],
    ],
    [["imagekeeper", "prune", "--d"], ["--dry-run"]],
    [
      ["imagekeeper", "history", "--kind", ""],
      ["prepull", "prune", "removal"],
    ],
    [["imagekeeper", "--log-level", "d"], ["debug"]],
    [
      ["imagekeeper", "status", "--log-format", ""],
      ["human", "json"],
    ],
    [
      ["imagekeeper", "completion", ""],
      ["bash", "fish", "zsh"],
    ],
    [["imagekeeper", "help", "lease", "a"], ["acquire"]],
    [["imagekeeper", "help", "h"], ["help", "history"].filter((w) => w !== "help")],
    [["imagekeeper", "prepull", "--recipe", "rec"], ["recipes"]],
    [["imagekeeper", "prepull", "--recipe", "recipes/"], ["recipes/gitea"]],
    [["imagekeeper", "prepull", "--env-file", "recipes/a"], ["recipes/app.env"]],
    [["imagekeeper", "run", "--", "printen"], ["printenv"]],
    [["imagekeeper", "lease", "acquire", "--ttl", ""], []],
  ])("%j", (words, want) => {
    expect(complete(words)).toEqual(want);
  });

  it("offers every command's options, and the global ones, after the command", () => {
    const opts = complete(["imagekeeper", "prepull", "--"]);
    for (const o of ["--recipe", "--env-file", "--concurrency", "--dry-run", "--config", "--json", "--quiet"])
      expect(opts).toContain(o);
    expect(complete(["imagekeeper", "auth", "login", "--pass"])).toEqual(["--password-file"]);
  });
});

describe.skipIf(!has("fish"))("fish", () => {
  function complete(line: string): string[] {
    const out = execFileSync(
      "fish",
      ["--no-config", "-c", `source ${generated("completions/imagekeeper.fish")}; complete -C'${line}'`],
      {
        cwd: sample,
        encoding: "utf8",
      },
    );
    return out
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t")[0]!)
      .sort();
  }

  it("parses", () => {
    expect(spawnSync("fish", ["--no-execute", generated("completions/imagekeeper.fish")]).status).toBe(0);
  });

  it.each([
    ["imagekeeper pre", ["prepull"]],
    ["imagekeeper lease ", ["acquire", "release"]],
    ["imagekeeper --config x.json lease r", ["release"]],
    ["imagekeeper prepull --pull-policy ", ["always", "auto", "missing"]],
    ["imagekeeper prepull --re", ["--recipe", "--ref", "--retries"]],
    ["imagekeeper history --kind ", ["prepull", "prune", "removal"]],
    ["imagekeeper completion ", ["bash", "fish", "zsh"]],
    ["imagekeeper prepull --recipe rec", ["recipes/"]],
    ["imagekeeper run -- printen", ["printenv"]],
  ])("%j", (line, want) => {
    expect(complete(line)).toEqual(want);
  });

  it("shows each command's summary", () => {
    const out = execFileSync(
      "fish",
      [
        "--no-config",
        "-c",
        `source ${generated("completions/imagekeeper.fish")}; complete -C'imagekeeper doc'`,
      ],
      {
        encoding: "utf8",
      },
    );
    expect(out).toMatch(/^doctor\tcheck this host's set-up/);
  });
});

describe.skipIf(!has("zsh") || !has("tmux"))("zsh, typing TAB in a terminal", () => {
  const socket = `ikcompl-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  const zdot = path.join(work, "zdot");

  beforeAll(async () => {
    mkdirSync(path.join(zdot, "fn"), { recursive: true });
    writeFileSync(path.join(zdot, "fn", "_imagekeeper"), readFileSync(generated("completions/_imagekeeper")));
    writeFileSync(
      path.join(zdot, "rc"),
      `fpath=(${path.join(zdot, "fn")} $fpath)\nautoload -Uz compinit && compinit -u -d ${path.join(zdot, "zcompdump")}\nPROMPT='> '\ncd ${sample}\n`,
    );
    tmux("new-session", "-d", "-x", "150", "-y", "30", "zsh -f");
    tmux("send-keys", `source ${path.join(zdot, "rc")}; print READY-$((6*7))`, "Enter");
    await until(() => /^READY-42$/m.test(tmux("capture-pane", "-p")));
  });

  afterAll(() => {
    // Our own tmux server, on our own socket.
    if (existsSync(zdot)) spawnSync("tmux", ["-L", socket, "kill-server"]);
  });

  async function until(ok: () => boolean, ms = 30_000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (ok()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out; the pane shows:\n${tmux("capture-pane", "-p")}`);
  }

  /** Type `line` and TAB; wait until the screen shows `expected` (tmux trims trailing blanks). */
  async function tab(line: string, expected: RegExp) {
    tmux("send-keys", "C-u", "C-l");
    await until(() => tmux("capture-pane", "-p").trim() === ">");
    tmux("send-keys", line, "Tab");
    await until(() => expected.test(tmux("capture-pane", "-p")));
  }

  it("parses", () => {
    expect(spawnSync("zsh", ["-n", generated("completions/_imagekeeper")]).status).toBe(0);
  });

  it.each([
    ["imagekeeper pre", /^> imagekeeper prepull$/m],
    ["imagekeeper lease ", /^acquire +-- take a run lease/m],
    ["imagekeeper lease ", /^release +-- release a run lease/m],
    ["imagekeeper --config x.json lease rel", /^> imagekeeper --config x\.json lease release$/m],
    ["imagekeeper prepull --pull-policy ", /^always +auto +missing/m],
    ["imagekeeper prepull --re", /^--recipe +-- the recipe's checkout/m],
    ["imagekeeper prepull --recipe rec", /^> imagekeeper prepull --recipe recipes\/$/m],
    ["imagekeeper completion ", /^bash +fish +zsh/m],
    ["imagekeeper run -- printen", /^> imagekeeper run -- printenv$/m],
  ])("%j", async (line, expected) => {
    await tab(line, expected);
  });
});

describe.skipIf(!has("groff"))("the man page", () => {
  const page = () => generated("man/imagekeeper.1");

  it("renders without a groff warning", () => {
    const r = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-z", page()], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
  });

  it.skipIf(!has("man"))("man shows every command and global option", () => {
    const text = execFileSync("man", ["-l", page()], {
      encoding: "utf8",
      env: { ...process.env, MANWIDTH: "80", MAN_KEEP_FORMATTING: "" },
    });
    expect(text).toMatch(/^IMAGEKEEPER\(1\) +User Commands +IMAGEKEEPER\(1\)$/m);
    for (const h of [
      "NAME",
      "SYNOPSIS",
      "DESCRIPTION",
      "GLOBAL OPTIONS",
      "COMMANDS",
      "EXIT STATUS",
      "ENVIRONMENT",
      "FILES",
      "SEE ALSO",
    ])
      expect(text).toMatch(new RegExp(`^${h}$`, "m"));
    for (const c of [
      "prepull",
      "run",
      "lease acquire",
      "lease release",
      "prune",
      "status",
      "history",
      "doctor",
      "auth login",
      "config check",
      "completion",
    ])
      expect(text).toMatch(new RegExp(`^ {3}imagekeeper ${c}$`, "m"));
    expect(text).toContain("--log-format FORMAT");
    // The help texts' own characters survive (escaped as \[uXXXX] in the source).
    expect(text).toContain("[--set KEY=VALUE]…");
  });
});
