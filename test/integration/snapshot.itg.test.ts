// The startup snapshot (scripts/snapshot-entry.cjs, built as nix/package.nix builds it) against the
// plain bundle: the same output, exit code and report for help, --version and a warm prepull on the
// real engine and registry; and the snapshot neither reads nor writes the V8 code cache, so its
// speed owes nothing to a cache a fresh host lacks. Which blob the wrapper picks, and its fallbacks
// (missing, foreign, junk blob; NODE_OPTIONS): test/nix/package.test.ts. And the blob holds nothing
// of the process that built it: environment, directory, clock and pid are the running process's.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin } from "../support/cli.js";
import { buildSnapshot, snapshotArgv } from "../support/snapshot.js";
import {
  type Daemon,
  pushImage,
  type Registry,
  startDaemon,
  startRegistry,
  tempDir,
} from "../support/testbed.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<Run & { pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, pid: child.pid! }));
  });
}

let dir: string;
let blob: string;
let reg: Registry;
let d: Daemon;
let recipe: string;
let env: Record<string, string | undefined>;

const plain = async (args: string[], e = env) => {
  const { pid: _pid, ...r } = await node(["--", bin(), ...args], e);
  return r;
};
const snap = async (args: string[], e = env) => {
  const { pid: _pid, ...r } = await node(snapshotArgv(blob, bin(), args), e);
  return r;
};

beforeAll(async () => {
  dir = tempDir("iksnap");
  blob = path.join(dir, "imagekeeper.blob");
  buildSnapshot(bin(), blob);
  reg = await startRegistry();
  d = await startDaemon();
  const refs: string[] = [];
  for (const name of ["app", "db", "cache", "proxy"]) {
    const ref = (await pushImage(reg.host, `snap/${name}`, "1.0", { sizeBytes: 4096 })).ref;
    await d.dockerAsync(["pull", "-q", ref]);
    refs.push(ref);
  }
  recipe = path.join(dir, "recipe");
  mkdirSync(recipe);
  writeFileSync(
    path.join(recipe, "compose.yml"),
    `version: "3.8"\nservices:\n${refs.map((r, i) => `  s${i}:\n    image: ${r}\n`).join("")}`,
  );
  env = {
    ...process.env,
    ...d.env,
    IMAGEKEEPER_STATE_DIR: path.join(dir, "state"),
    IMAGEKEEPER_CACHE_DIR: path.join(dir, "cache"),
    IMAGEKEEPER_LOG_LEVEL: "info",
    NODE_OPTIONS: undefined,
  };
}, 120_000);

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
});

/** The report without what differs from run to run (how long things took). */
function stable(report: string): unknown {
  return JSON.parse(report, (k, v: unknown) =>
    ["durationMs", "waitMs", "pullMs", "at", "startedAt", "finishedAt"].includes(k) ? "…" : v,
  );
}

describe("started from the startup snapshot, imagekeeper does what the bundle does", () => {
  it.each([[["--version"]], [["--help"]], [["prepull", "--help"]], [["version", "--json"]], [["no-such"]]])(
    "%j: the same stdout, stderr and exit code",
    async (args) => {
      const [a, b] = [await plain(args), await snap(args)];
      expect(b).toEqual(a);
      expect(a.stdout + a.stderr).not.toBe("");
    },
  );

  it.each(["missing", "auto"])(
    "a warm prepull --pull-policy %s against the testbed: the same report",
    async (policy) => {
      const args = ["prepull", "--recipe", recipe, "--pull-policy", policy, "--json"];
      await plain(args); // fills the resolution cache, so both runs below are warm
      const [a, b] = [await plain(args), await snap(args)];
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect(stable(b.stdout)).toEqual(stable(a.stdout));
      const images = (stable(a.stdout) as { images: { action: string }[] }).images;
      expect(images.map((i) => i.action)).toEqual(["present", "present", "present", "present"]);
    },
  );

  it("`--env-file` after the `--` the launcher passes is imagekeeper's, read as data", async () => {
    const app = path.join(dir, "app.env");
    writeFileSync(app, "DOMAIN=snap.example.org\n");
    const r = await snap(["env", "--env-file", app]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("DOMAIN=snap.example.org\n");
  });

  it("reads and writes no V8 code cache: a fresh host's first start is as fast as any", async () => {
    const cache = path.join(dir, "fresh-cache");
    const r = await snap(["prepull", "--recipe", recipe, "--pull-policy", "missing"], {
      ...env,
      IMAGEKEEPER_CACHE_DIR: cache,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(cache)).toBe(false);
    // The control: the plain bundle writes its cache there.
    const p = await plain(["prepull", "--recipe", recipe, "--pull-policy", "missing"], {
      ...env,
      IMAGEKEEPER_CACHE_DIR: cache,
    });
    expect(p.code, p.stderr).toBe(0);
    expect(readdirSync(cache).some((n) => n.endsWith(".v8"))).toBe(true);
  });
});

describe("the snapshot holds nothing of the process that built it", () => {
  // A blob built in a directory of its own, with a config, a log format and a log level in its
  // environment, then started elsewhere, later, with others.
  let built: string;
  let buildDone: number;
  let here: string;
  beforeAll(async () => {
    const at = path.join(dir, "build-here");
    mkdirSync(at);
    writeFileSync(path.join(at, "config.json"), '{"prepull":{"concurrency":1}}\n');
    built = path.join(dir, "built-elsewhere.blob");
    buildSnapshot(bin(), built, {
      cwd: at,
      env: {
        ...process.env,
        IMAGEKEEPER_CONFIG: "config.json",
        IMAGEKEEPER_LOG_FORMAT: "human",
        IMAGEKEEPER_LOG_LEVEL: "error",
      },
    });
    buildDone = Date.now();
    here = path.join(dir, "run-here");
    mkdirSync(here);
    writeFileSync(path.join(here, "config.json"), '{"prepull":{"concurrency":5}}\n');
    // Far enough from the build that a clock frozen into the blob would show.
    await new Promise((r) => setTimeout(r, 1500));
  });

  it("the config named by the running environment, relative to the running directory", async () => {
    const runEnv = { ...env, IMAGEKEEPER_CONFIG: "config.json" };
    const r = await node(snapshotArgv(built, bin(), ["config", "check", "--json"]), runEnv, here);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { file: string; config: { prepull: { concurrency: number } } };
    expect(doc.file).toBe("config.json");
    expect(doc.config.prepull.concurrency).toBe(5);
    // The control: the bundle answers the same.
    const p = await node(["--", bin(), "config", "check", "--json"], runEnv, here);
    expect(JSON.parse(p.stdout)).toEqual(doc);
  });

  it("log format and level, clock and pid of the running process", async () => {
    const before = Date.now();
    const r = await node(
      snapshotArgv(built, bin(), ["prepull", "--recipe", recipe, "--pull-policy", "missing"]),
      { ...env, IMAGEKEEPER_LOG_FORMAT: "json", IMAGEKEEPER_LOG_LEVEL: "info" },
    );
    const after = Date.now();
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { time: number; pid: number; msg: string });
    expect(lines.filter((l) => l.msg === "image present")).toHaveLength(4);
    expect(before).toBeGreaterThan(buildDone + 1000);
    for (const l of lines) {
      expect(l.time).toBeGreaterThanOrEqual(before);
      expect(l.time).toBeLessThanOrEqual(after);
      expect(l.pid).toBe(r.pid);
    }
  });
});
