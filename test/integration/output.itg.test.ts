// What people and CI logs see, end to end with the bundled CLI against a private dockerd and
// registry: readable log lines without a terminal, syslog priorities when stderr is the journal
// (JOURNAL_STREAM set to the real device:inode of the file the child writes to), colour and
// wrapping in a real pseudo-terminal (util-linux `script`), global options on either side of the
// command, a --json document from every command, and the history journal written by real
// prepulls and prunes.
import { spawnSync } from "node:child_process";
import {
  closeSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { statusSchema } from "../../src/commands/status.js";
import { COMMANDS } from "../../src/commands/index.js";
import { prepullReportSchema } from "../../src/pull/report.js";
import { pruneResultSchema } from "../../src/prune/report.js";
import { journalEntrySchema } from "../../src/state/journal.js";
import { stripAnsi } from "../../src/ui/text.js";
import { cli, cliSpawn } from "../support/cli.js";
import { type Daemon, pushImage, type Registry, startDaemon, startRegistry } from "../support/testbed.js";

const bin = inject("imagekeeperBin");
let reg: Registry;
let d: Daemon;
let work: string;
let recipeDir: string;
let envFile: string;
let stateDir: string;
let runDir: string;
let configFile: string;

beforeAll(async () => {
  reg = await startRegistry();
  d = await startDaemon({ mirrors: [reg.url] });
  await Promise.all([
    pushImage(reg.host, "library/nginx", "1.27.1", { sizeBytes: 120_000 }),
    pushImage(reg.host, "library/postgres", "16.4", { sizeBytes: 150_000 }),
  ]);
  work = mkdtempSync(path.join(tmpdir(), "ikout-"));
  recipeDir = path.join(work, "gitea");
  mkdirSync(recipeDir);
  writeFileSync(
    path.join(recipeDir, "compose.yml"),
    'version: "3.8"\nservices:\n  app:\n    image: nginx:${NGINX_VERSION}\n  db:\n    image: postgres:16.4\n',
  );
  envFile = path.join(recipeDir, "git.ci.example.env");
  writeFileSync(envFile, "TYPE=gitea\nNGINX_VERSION=1.27.1\n");
  stateDir = path.join(work, "state");
  runDir = path.join(work, "run");
  configFile = path.join(work, "config.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      prune: { highWatermarkPercent: 97, lowWatermarkPercent: 50, criticalWatermarkPercent: 99 },
    }),
  );
});

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
});

const env = (extra: Record<string, string> = {}) => ({
  ...d.env,
  IMAGEKEEPER_CONFIG: configFile,
  IMAGEKEEPER_STATE_DIR: stateDir,
  IMAGEKEEPER_RUN_DIR: runDir,
  IMAGEKEEPER_CACHE_DIR: path.join(work, "cache"),
  ...extra,
});

const selection = () => ["--recipe", recipeDir, "--env-file", envFile];
const ESC = "\u001b[";
const lastLine = (s: string) => s.trimEnd().split("\n").pop()!;

describe("logs without a terminal (a CI log)", () => {
  it("prepull: one readable line per event on stderr, no JSON, no colour; the summary says what happened", async () => {
    const r = await cli(["prepull", ...selection()], env());
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain(ESC);
    const lines = r.stderr.trimEnd().split("\n");
    for (const l of lines) expect(l).toMatch(/^\d\d:\d\d:\d\d (info |warn |error) \S/);
    expect(r.stderr).toMatch(/info {2}image pulled {2}ref=nginx:1\.27\.1 file=compose\.yml\n/);
    expect(lastLine(r.stderr)).toMatch(
      /info {2}prepull .*gitea: 2 images, 0 present, 2 pulled, 0 failed in .*: ok$/,
    );
  });

  it("--quiet: nothing on stderr when all is well", async () => {
    const r = await cli(["prepull", ...selection(), "--quiet"], env());
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const q = await cli(["-q", "lease", "release", "nope"], env());
    expect(q.stderr).toMatch(/warn {2}no lease nope in /);
  });

  it("--log-format json, before or after the command: pino JSON lines", async () => {
    for (const argv of [
      ["--log-format", "json", "lease", "release", "nope"],
      ["lease", "release", "nope", "--log-format", "json"],
      ["lease", "--log-format=json", "release", "nope"],
    ]) {
      const r = await cli(argv, env());
      expect(r.code).toBe(0);
      const rec = JSON.parse(r.stderr);
      expect(rec).toMatchObject({ level: 40, id: "nope", runDir });
      expect(rec.msg).toMatch(/^no lease nope in/);
    }
    const fromEnv = await cli(["lease", "release", "nope"], env({ IMAGEKEEPER_LOG_FORMAT: "json" }));
    expect(JSON.parse(fromEnv.stderr)).toMatchObject({ level: 40 });
    const cfg = path.join(work, "json-logs.json");
    writeFileSync(cfg, JSON.stringify({ logFormat: "json" }));
    const fromConfig = await cli(["lease", "release", "nope", "--config", cfg], env());
    expect(JSON.parse(fromConfig.stderr)).toMatchObject({ level: 40 });
  });
});

describe("the journal: JOURNAL_STREAM names the file stderr writes to", () => {
  /** Run the CLI with stderr on a real file; JOURNAL_STREAM is that file's dev:ino, or `other`'s. */
  function withStderrFile(args: string[], extra: Record<string, string>, journal: "self" | "other") {
    const file = path.join(work, `stderr-${Math.random().toString(36).slice(2)}`);
    const fd = openSync(file, "w");
    const otherFd = openSync(`${file}.other`, "w");
    try {
      const st = fstatSync(journal === "self" ? fd : otherFd);
      const r = spawnSync(process.execPath, ["--", bin, ...args], {
        env: { ...process.env, ...env(extra), JOURNAL_STREAM: `${st.dev}:${st.ino}` },
        stdio: ["ignore", "pipe", fd],
        encoding: "utf8",
      });
      return { code: r.status, stdout: r.stdout, stderr: readFileSync(file, "utf8") };
    } finally {
      closeSync(fd);
      closeSync(otherFd);
    }
  }

  it("human lines carry the syslog priority and no time", () => {
    const r = withStderrFile(["lease", "release", "nope"], {}, "self");
    expect(r.stderr).toMatch(
      /^<4>warn {2}no lease nope in \S+ \(already released, expired, or never taken\); nothing to release\n$/,
    );
    const info = withStderrFile(["prepull", ...selection()], {}, "self");
    expect(info.code).toBe(0);
    for (const l of info.stderr.trimEnd().split("\n")) expect(l).toMatch(/^<6>info {2}/);
  });

  it("the final error paragraph too, at err priority", () => {
    const r = withStderrFile(["history", "--since", "whenever"], {}, "self");
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^<3>imagekeeper history: --since "whenever" is neither a duration nor a date/);
    expect(lines[1]).toMatch(/^<3> {2}fix: /);
  });

  it("JSON lines keep their priority prefix", () => {
    const r = withStderrFile(["lease", "release", "nope"], { IMAGEKEEPER_LOG_FORMAT: "json" }, "self");
    expect(r.stderr).toMatch(/^<4>\{"level":40,/);
  });

  it("an inherited JOURNAL_STREAM that names another stream changes nothing", () => {
    const r = withStderrFile(["lease", "release", "nope"], {}, "other");
    expect(r.stderr).toMatch(/^\d\d:\d\d:\d\d warn {2}no lease nope/);
  });
});

describe("a real terminal (a pseudo-terminal from util-linux script)", () => {
  /** Run the CLI in a pty of `cols` columns; stdout and stderr both go to the terminal. */
  function inPty(args: string[], cols: number, extra: Record<string, string> = {}) {
    const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
    const r = spawnSync("script", ["-qfec", `stty cols ${cols} rows 40; exec ${quoted}`, "/dev/null"], {
      env: { ...process.env, ...env(extra), TERM: "xterm" },
      encoding: "utf8",
    });
    return { code: r.status, out: r.stdout.replace(/\r\n/g, "\n") };
  }

  it("colour by level, wrapped to 80 columns under a hanging indent", () => {
    const deep = path.join(
      work,
      "a-rather-long-directory-name-for-the-run-dir",
      "and-another-level-below-it",
    );
    const r = inPty(["lease", "release", "nope"], 80, { IMAGEKEEPER_RUN_DIR: deep });
    expect(r.code).toBe(0);
    expect(r.out).toContain("\u001b[33mwarn \u001b[39m");
    const lines = r.out.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(stripAnsi(l).length).toBeLessThanOrEqual(80);
    for (const l of lines.slice(1)) expect(l).toMatch(/^ {15}\S/);
    // The path is wider than the room left on a line: it is cut, so compare without the blanks.
    const plain = stripAnsi(r.out).replace(/\s+/g, "");
    expect(plain).toContain(
      `no lease nope in ${deep} (already released, expired, or never taken); nothing to release`.replace(
        /\s+/g,
        "",
      ),
    );
  });

  it("160 columns: one line", () => {
    const r = inPty(["lease", "release", "nope"], 160);
    expect(r.out.trimEnd().split("\n")).toHaveLength(1);
  });

  it("NO_COLOR: no escapes at all", () => {
    const r = inPty(["lease", "release", "nope"], 80, { NO_COLOR: "1" });
    expect(r.out).not.toContain(ESC);
    expect(r.out).toMatch(/^\d\d:\d\d:\d\d warn {2}no lease nope/);
  });

  it("prune --dry-run fits 80 columns: names cut in the middle, reasons wrapped under their rows", async () => {
    // The images must be there: a prepull first (the order of tests in this file is not relied on).
    expect((await cli(["prepull", ...selection(), "--quiet"], env())).code).toBe(0);
    for (const cols of [80, 160]) {
      const r = inPty(["prune", "--dry-run"], cols, { NO_COLOR: "1" });
      expect(r.code).toBe(0);
      const lines = r.out.trimEnd().split("\n");
      for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(cols);
      expect(lines).toContainEqual(expect.stringMatching(/^ORDER {2}ACTION {2}SIZE/));
      const rows = lines.filter((l) => /^(\d+|-) +(remove|removable|keep) /.test(l));
      expect(rows.some((l) => /nginx:1\.27\.1$/.test(l))).toBe(true);
      // Every row's reason is whole under it (too long for either width in the row); the last use
      // is an age at 80 columns, with its date at 160.
      expect(lines.filter((l) => /^ {4}reason: \S/.test(l)).length).toBe(rows.length);
      const dated = rows.filter((l) => /\d{4}-\d\d-\d\d \d\d:\d\d \(/.test(l)).length;
      expect(dated).toBe(cols === 80 ? 0 : rows.length);
    }
  });

  it("the error paragraph wraps to the terminal", () => {
    const r = inPty(["prune", "--dry-rnu"], 40, { NO_COLOR: "1" });
    expect(r.code).toBe(2);
    expect(r.out.trimEnd().split("\n")).toEqual([
      "imagekeeper prune: unknown option",
      '  --dry-rnu. Did you mean "--dry-run"?',
      "  fix: See imagekeeper prune --help.",
    ]);
  });
});

describe("run reports a command it cannot start in its own words", () => {
  it("not found: 127, no lease taken, no helper's message", async () => {
    const rd = path.join(work, "run-missing");
    const r = await cli(
      ["run", "--", "abra", "app", "deploy", "git.ci.example"],
      env({ IMAGEKEEPER_RUN_DIR: rd }),
    );
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(
      /^imagekeeper run: the command "abra" was not found on PATH; nothing was run\n {2}fix: Install it, fix the name, or give its path \(PATH=/,
    );
    expect(r.stderr).not.toContain("setpriv");
    expect(() => readdirSync(rd)).toThrow();
  });

  it("not executable: 126", async () => {
    const script = path.join(work, "job.sh");
    writeFileSync(script, "#!/bin/sh\necho hi\n", { mode: 0o644 });
    const r = await cli(["run", "--", script], env());
    expect(r.code).toBe(126);
    expect(r.stderr).toContain(`the command "${script}" is not executable`);
    expect(r.stderr).toContain(`imagekeeper run -- sh ${script}`);
  });
});

describe("--json on every command", () => {
  const covered = new Set<string>();
  const json = (s: string) => JSON.parse(s) as Record<string, unknown>;

  it("env, images, prepull", async () => {
    const e = await cli(["env", "--env-file", envFile, "--json"], env());
    expect(json(e.stdout)).toMatchObject({ vars: { TYPE: "gitea", NGINX_VERSION: "1.27.1" } });
    const i = await cli(["images", ...selection(), "--json"], env());
    expect(json(i.stdout)).toMatchObject({ images: [{ ref: "nginx:1.27.1" }, { ref: "postgres:16.4" }] });
    const p = await cli(["--json", "prepull", ...selection()], env());
    expect(prepullReportSchema.parse(json(p.stdout)).ok).toBe(true);
    for (const c of ["env", "images", "prepull"]) covered.add(c);
  });

  it("run: the child's stdout untouched, run's document the last line of stderr", async () => {
    const r = await cli(
      ["run", "--json", "--", "sh", "-c", "echo child-out; echo child-err >&2; exit 3"],
      env(),
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("child-out\n");
    expect(r.stderr.startsWith("child-err\n")).toBe(true);
    expect(json(lastLine(r.stderr))).toMatchObject({
      ok: false,
      exitCode: 3,
      started: true,
      leaseId: expect.stringMatching(/^run-/),
      waitedMs: 0,
      durationMs: expect.any(Number),
    });
    covered.add("run");
  });

  it("lease acquire and release", async () => {
    const a = await cli(["lease", "acquire", "--ttl", "1m", "--id", "job-1", "--json"], env());
    expect(a.code).toBe(0);
    const doc = json(a.stdout);
    expect(doc).toMatchObject({
      ok: true,
      id: "job-1",
      ttlMs: 60_000,
      renewed: false,
      holderPid: expect.any(Number),
    });
    const rel = await cli(["lease", "release", "job-1", "--json"], env());
    expect(json(rel.stdout)).toEqual({ ok: true, id: "job-1", result: "released" });
    const again = await cli(["--json", "lease", "release", "job-1"], env());
    expect(json(again.stdout)).toMatchObject({ result: expect.stringMatching(/^(expired|not-found)$/) });
    covered.add("lease acquire").add("lease release");
  });

  it("prune, status, history, doctor", async () => {
    const p = await cli(["prune", "--json"], env());
    expect(pruneResultSchema.parse(json(p.stdout)).outcome).toBe("no-pressure");
    const s = await cli(["status", "--json"], env());
    expect(statusSchema.parse(json(s.stdout)).disk.watermarks.high).toBe(97);
    const h = await cli(["history", "--json"], env());
    expect(json(h.stdout)).toMatchObject({ file: path.join(stateDir, "journal.jsonl"), problems: [] });
    const dr = await cli(["doctor", "--json"], env());
    const doc = json(dr.stdout) as { ok: boolean; checks: { id: string; status: string }[] };
    expect(doc.checks.map((c) => c.id)).toContain("daemon");
    expect(doc.checks.find((c) => c.id === "daemon")!.status).toBe("ok");
    for (const c of ["prune", "status", "history", "doctor"]) covered.add(c);
  });

  it("auth login, config check, completion", async () => {
    const pw = path.join(work, "token");
    writeFileSync(pw, "s3cr3t-token\n", { mode: 0o600 });
    const dc = path.join(work, "docker-config");
    const a = await cli(
      [
        "auth",
        "login",
        "--registry",
        reg.host,
        "--username",
        "ci",
        "--password-file",
        pw,
        "--docker-config",
        dc,
        "--json",
      ],
      env(),
    );
    expect(json(a.stdout)).toEqual({
      ok: true,
      registry: reg.host,
      username: "ci",
      file: path.join(dc, "config.json"),
      verified: null,
    });
    expect(a.stdout + a.stderr).not.toContain("s3cr3t");
    const c = await cli(["config", "check", "--json"], env());
    expect(json(c.stdout)).toMatchObject({
      ok: true,
      file: configFile,
      config: { prune: { highWatermarkPercent: 97, minAge: "24h" } },
    });
    const t = await cli(["completion", "--json"], env());
    expect(json(t.stdout)).toMatchObject({ program: "imagekeeper", commands: expect.any(Array) });
    for (const x of ["auth login", "config check", "completion"]) covered.add(x);
  });

  it("watch: one document when it stops", async () => {
    const w = cliSpawn(["watch", "--json"], env());
    let err = "";
    w.stderr.on("data", (b: Buffer) => (err += b.toString()));
    let out = "";
    w.stdout.on("data", (b: Buffer) => (out += b.toString()));
    const closed = new Promise<number | null>((r) => w.on("close", (c) => r(c)));
    const deadline = Date.now() + 60_000;
    while (!err.includes("following the Docker daemon's events") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    w.kill("SIGTERM");
    expect(await closed).toBe(0);
    expect(json(out)).toMatchObject({ ok: true, events: {}, outages: 0, stateDir });
    covered.add("watch");
  });

  it("simulate", async () => {
    const trace = path.resolve("test/fixtures/sim/small.jsonl");
    const r = await cli(["simulate", "--trace", trace, "--capacity", "40GiB", "--json"], env());
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({
      trace: { runs: 5 },
      results: [{ capacityBytes: 40 * 1024 ** 3 }],
    });
    covered.add("simulate");
  });

  it("covered every command (a new command needs a line above)", () => {
    expect([...covered].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });
});

describe("config check prints a config it accepts", () => {
  it("its output, fed back, is accepted and prints the same", async () => {
    const first = await cli(["config", "check"], env());
    expect(first.code).toBe(0);
    const again = path.join(work, "again.json");
    writeFileSync(again, first.stdout);
    const second = await cli(["config", "check", "--config", again], env());
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(JSON.parse(first.stdout).prune.minAge).toBe("24h");
  });
});

describe("history from real prepulls and prunes", () => {
  it("records the prepulls and a prune's removals, each image with its size and reason", async () => {
    // Every threshold at the bottom and no minimum age: the prune removes every image it may.
    const aggressive = path.join(work, "aggressive.json");
    writeFileSync(
      aggressive,
      JSON.stringify({
        // No reservation either: the prepulls just above reserve their images for 15 minutes.
        prune: {
          highWatermarkPercent: 2,
          lowWatermarkPercent: 1,
          criticalWatermarkPercent: 2,
          minAge: 0,
          reservation: 0,
        },
      }),
    );
    const p = await cli(["prune", "--json", "--config", aggressive], env());
    expect(p.code).toBe(0);
    const result = pruneResultSchema.parse(JSON.parse(p.stdout));
    expect(result.removed.length).toBeGreaterThanOrEqual(2);

    const h = await cli(["history", "--json"], env());
    const doc = JSON.parse(h.stdout) as { entries: unknown[]; problems: string[] };
    expect(doc.problems).toEqual([]);
    const entries = doc.entries.map((e) => journalEntrySchema.parse(e));
    const prepulls = entries.filter((e) => e.kind === "prepull");
    expect(prepulls.length).toBeGreaterThanOrEqual(2);
    expect(prepulls[0]).toMatchObject({
      recipe: "gitea",
      app: "git.ci.example",
      version: null,
      ok: true,
      images: 2,
      pulled: 2,
    });
    const prune = entries.filter((e) => e.kind === "prune");
    // The earlier no-pressure prune is not recorded; this one is.
    expect(prune).toHaveLength(1);
    expect(prune[0]).toMatchObject({ outcome: result.outcome, removed: result.removed.length });
    const removals = entries.filter((e) => e.kind === "removal");
    expect(removals.map((r) => r.kind === "removal" && r.id).sort()).toEqual(
      result.removed.map((r) => r.id).sort(),
    );
    for (const r of removals) if (r.kind === "removal") expect(r.sizeBytes).toBeGreaterThan(100_000);

    const only = JSON.parse(
      (await cli(["history", "--json", "--kind", "removal", "--kind", "prune"], env())).stdout,
    );
    expect(only.entries.map((e: { kind: string }) => e.kind)).not.toContain("prepull");
    const none = JSON.parse((await cli(["history", "--json", "--since", "2099-01-01"], env())).stdout);
    expect(none.entries).toEqual([]);
    const recent = JSON.parse((await cli(["history", "--json", "--since", "1h"], env())).stdout);
    expect(recent.entries).toHaveLength(entries.length);

    const text = await cli(["history"], env());
    expect(text.stdout.split("\n")[0]).toMatch(/^TIME\s+KIND\s+WHAT$/);
    expect(text.stdout).toMatch(
      /prepull +gitea \(git\.ci\.example\): ok, 2 images \(2 pulled, 0 present\) in /,
    );
    expect(text.stdout).toMatch(/removal +(nginx:1\.27\.1|postgres:16\.4) \(/);
  });
});
