// The CLI's own behaviour, in process: help for every command and group, global options anywhere,
// "did you mean", JSON errors. Commands that need no daemon run for real against temp dirs.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { COMMANDS, GROUPS, groupEntries } from "../../src/commands/index.js";
import { setLogWriter } from "../../src/log.js";

const dir = mkdtempSync(path.join(tmpdir(), "ikcli-"));
const configFile = path.join(dir, "config.json");
writeFileSync(configFile, JSON.stringify({ prune: { minAge: "2d" } }));
const baseEnv = {
  PATH: process.env.PATH,
  IMAGEKEEPER_CONFIG: configFile,
  IMAGEKEEPER_STATE_DIR: path.join(dir, "state"),
  IMAGEKEEPER_RUN_DIR: path.join(dir, "run"),
};

let logged = "";
beforeAll(() => setLogWriter((t) => (logged += t)));
afterAll(() => setLogWriter(undefined));

async function cli(argv: string[], env: Record<string, string | undefined> = {}) {
  let stdout = "";
  let stderr = "";
  logged = "";
  const code = await main(
    argv,
    { out: (s) => (stdout += s), err: (s) => (stderr += s) },
    { ...baseEnv, ...env },
  );
  return { code, stdout, stderr: stderr + logged };
}

describe("help", () => {
  it.each(COMMANDS.map((c) => [c.name]))(
    "%s: help CMD, CMD --help, CMD -h and --help CMD print the same help",
    async (name) => {
      const words = name.split(" ");
      const a = await cli(["help", ...words]);
      expect(a.code).toBe(0);
      expect(a.stdout).toMatch(new RegExp(`^Usage: imagekeeper ${name}`));
      expect(a.stdout).toContain(
        "Global options (before or after the command): --config FILE, --log-level LEVEL",
      );
      expect(a.stdout).toContain("Docs: man imagekeeper");
      for (const argv of [
        [...words, "--help"],
        [...words, "-h"],
        ["--help", ...words],
      ]) {
        const b = await cli(argv);
        expect(b.code).toBe(0);
        expect(b.stdout).toBe(a.stdout);
      }
    },
  );

  it.each(Object.keys(GROUPS).map((g) => [g]))(
    "%s: GROUP --help, help GROUP and --help GROUP list its commands",
    async (group) => {
      const a = await cli([group, "--help"]);
      expect(a.code).toBe(0);
      for (const e of groupEntries(group)) expect(a.stdout).toContain(`  ${e.name}  `.trimEnd());
      for (const e of groupEntries(group)) expect(a.stdout).toContain(e.summary);
      expect((await cli(["help", group])).stdout).toBe(a.stdout);
      expect((await cli(["--help", group])).stdout).toBe(a.stdout);
    },
  );

  it("a group without its command is a usage error naming its commands", async () => {
    const r = await cli(["lease"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("imagekeeper lease acquire, imagekeeper lease release");
  });

  it("imagekeeper --help, -h and help list every command; no arguments at all is exit 2 on stderr", async () => {
    const a = await cli(["--help"]);
    expect(a.code).toBe(0);
    for (const c of COMMANDS) expect(a.stdout).toContain(`  ${c.name} `);
    expect((await cli(["-h"])).stdout).toBe(a.stdout);
    expect((await cli(["help"])).stdout).toBe(a.stdout);
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toBe(a.stdout);
  });

  it("names the installed docs when IMAGEKEEPER_DOC_DIR is set, the source's otherwise", async () => {
    const doc = "/nix/store/abc-imagekeeper/share/doc/imagekeeper";
    const installed = await cli(["help", "prune"], { IMAGEKEEPER_DOC_DIR: doc });
    expect(installed.stdout).toContain(`${doc}/prune.md`);
    expect(installed.stdout).not.toMatch(/(?<!imagekeeper\/)docs\/prune\.md/);
    expect(installed.stdout).toContain(`Docs: ${doc}/ (operations.md`);
    const source = await cli(["help", "prune"]);
    expect(source.stdout).toContain("docs/prune.md");
    expect(source.stdout).toContain("Docs: man imagekeeper; docs/*.md in the source");
  });

  it("--json with --help prints the help as a document", async () => {
    const r = await cli(["help", "prune", "--json"]);
    expect(JSON.parse(r.stdout)).toMatchObject({
      command: "prune",
      summary: expect.any(String),
      help: expect.stringMatching(/^Usage: imagekeeper prune/),
    });
    expect(JSON.parse((await cli(["--json", "--version"])).stdout)).toEqual({ version: expect.any(String) });
  });
});

describe("did you mean", () => {
  it.each([
    [["purne"], 'unknown command "purne". Did you mean "prune"?'],
    [["prepul", "--recipe", "x"], 'unknown command "prepul". Did you mean "prepull"?'],
    [["lease", "aquire"], 'unknown command "lease aquire". Did you mean "lease acquire"?'],
    [["help", "stauts"], 'unknown command "stauts". Did you mean "status"?'],
    [["prune", "--dryrun"], 'imagekeeper prune: unknown option --dryrun. Did you mean "--dry-run"?'],
    [["env", "--env-fil", "x"], 'imagekeeper env: unknown option --env-fil. Did you mean "--env-file"?'],
    [["--confg", "x", "status"], 'imagekeeper: unknown option --confg. Did you mean "--config"?'],
    [["frobnicate"], 'unknown command "frobnicate".'],
  ])("%j", async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("fix: ");
  });
});

describe("global options before and after the command", () => {
  const other = path.join(dir, "other.json");
  writeFileSync(other, JSON.stringify({ lease: { wait: 90 } }));

  it.each([
    [["--config", other, "config", "check"]],
    [["config", "--config", other, "check"]],
    [["config", "check", "--config", other]],
    [["config", "check", `--config=${other}`]],
  ])("%j reads the same file", async (argv) => {
    const r = await cli(argv);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).lease.wait).toBe("1m30s");
  });

  it("--json before the command is --json after it", async () => {
    const a = await cli(["--json", "config", "check"]);
    const b = await cli(["config", "check", "--json"]);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
  });

  it("a bad --log-level or --log-format is a usage error, wherever it is", async () => {
    for (const argv of [
      ["--log-format", "yaml", "config", "check"],
      ["config", "check", "--log-level", "loud"],
    ]) {
      const r = await cli(argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not one of/);
    }
  });

  it("--log-format json makes the final error a JSON log line too", async () => {
    const r = await cli(["--log-format", "json", "env"]);
    expect(r.code).toBe(2);
    const rec = JSON.parse(r.stderr.trim().split("\n").pop()!);
    expect(rec).toMatchObject({ level: 50, kind: "usage", exitCode: 2 });
    expect(rec.msg).toContain("--env-file: is required");
  });
});

describe("JSON errors for bad input", () => {
  it.each(COMMANDS.filter((c) => c.name !== "run").map((c) => [c.name]))(
    "%s --json with a bad option: a JSON error on stdout, exit 2",
    async (name) => {
      const r = await cli([...name.split(" "), "--no-such-option", "--json"]);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({
        ok: false,
        exitCode: 2,
        error: {
          kind: "usage",
          message: expect.stringContaining("--no-such-option"),
          hint: expect.any(String),
        },
      });
    },
  );

  it("run --json: the error goes to stderr, as its document does (stdout is the child's)", async () => {
    const r = await cli(["run", "--json"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(JSON.parse(r.stderr.split("\n")[0]!)).toMatchObject({ ok: false, error: { kind: "usage" } });
  });

  it("an unknown command with --json", async () => {
    const r = await cli(["purne", "--json"]);
    expect(JSON.parse(r.stdout).error.message).toContain('Did you mean "prune"?');
  });

  it("--json after `--` is the child's, not ours", async () => {
    const r = await cli(["run", "--", "no-such-command-here", "--json"]);
    expect(r.code).toBe(127);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('the command "no-such-command-here" was not found on PATH; nothing was run');
  });
});
