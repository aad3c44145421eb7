// The prune executors, called in-process against a real engine: runPrune (src/prune/run-prune.ts,
// what `imagekeeper prune` and the gap prune run) and gapPrune (src/prune/gap-prune.ts). One
// private dockerd for the whole file (test/support/engine-bed.ts), its data root on a 256 MiB
// loop-mounted ext4; images are imported locally (busybox plus seeded random bytes, no registry).
// Pressure is made by setting the watermarks around the disk's measured usage, not by filling it.
// Each test starts from an empty engine and its own state and run dirs, so any subset of the tests
// runs alone (a mutation run reruns only the tests that cover a mutant: docs/development.md).
// What is pinned: the returned PruneRun / GapPruneResult, the recorded last prune, the journal,
// the metrics textfile, the ledger's sightings, and the step logs that carry decisions.
import { execFileSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import pino, { type Logger } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { type Config, configSchema } from "../../src/config/schema.js";
import { docker } from "../../src/docker/cli.js";
import { Engine } from "../../src/docker/engine.js";
import { ToolError } from "../../src/errors.js";
import { initLogger, setLogWriter, settingsFromEnv } from "../../src/log.js";
import { drainAndLock } from "../../src/lease/drain.js";
import { tryExclusive } from "../../src/lease/lease.js";
import { type RunLease, startRunLease } from "../../src/lease/run-lease.js";
import { gapPrune, gapPruneBeforePull, type GapPruneResult } from "../../src/prune/gap-prune.js";
import { type DiskUsage, usageFromStatfs } from "../../src/prune/measure.js";
import { type PruneRun, runPrune } from "../../src/prune/run-prune.js";
import { windowState } from "../../src/prune/window.js";
import { formatBytes } from "../../src/util/duration.js";
import { readJournal } from "../../src/state/journal.js";
import { readPruneState } from "../../src/state/last-prune.js";
import { readLedger } from "../../src/state/ledger.js";
import { type EngineBed, type EngineBedInfo, startEngineBed } from "../support/engine-bed.js";
import { BUSYBOX } from "../support/testbed.js";

const MiB = 1024 * 1024;
const SIZE = 6 * MiB;

let bed: EngineBedInfo;
let own: EngineBed | undefined;
let engine: Engine;
let n = 0;

beforeAll(async () => {
  // One bed per Stryker test runner (globalSetup), else one for this file.
  const provided = inject("engineBed") as EngineBedInfo | undefined;
  bed = provided ?? (own = await startEngineBed()).info;
  engine = new Engine({ socketPath: bed.socket });
}, 180_000);

afterAll(async () => {
  await own?.stop();
});

const dockerCli = (args: string[], input?: Buffer | string): string =>
  execFileSync(bed.dockerWrapper, args, {
    ...(input !== undefined ? { input } : {}),
    maxBuffer: 1 << 28,
    stdio: ["pipe", "pipe", "pipe"],
  }).toString();
const lines = (s: string) => s.split("\n").filter(Boolean);

/** One Engine API request (the test's own plumbing: no docker client process per call). */
function api(method: string, url: string, body?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: bed.socket,
        path: url,
        method,
        headers: body ? { "Content-Type": "application/x-tar", "Content-Length": String(body.length) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
async function apiJson<T>(url: string): Promise<T> {
  const r = await api("GET", url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

/** An empty engine: no services, containers or images (the test's own setup follows). */
async function resetEngine(): Promise<void> {
  for (const s of await apiJson<{ ID: string }[]>("/services")) await api("DELETE", `/services/${s.ID}`);
  for (const c of await apiJson<{ Id: string }[]>("/containers/json?all=1"))
    await api("DELETE", `/containers/${c.Id}?force=1`);
  for (const i of await apiJson<{ Id: string }[]>("/images/json?all=1"))
    await api("DELETE", `/images/${i.Id}?force=1`);
}

const imageIds = async () => new Set((await apiJson<{ Id: string }[]>("/images/json")).map((i) => i.Id));

/** A ustar archive of regular files (path → bytes), as `docker import` reads it. */
function tarOf(files: [string, Buffer, number][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data, mode] of files) {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100);
    h.write(`${mode.toString(8).padStart(7, "0")}\0`, 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
    h.write("00000000000\0", 136);
    h.write("        ", 148);
    h.write("0", 156);
    h.write("ustar\0", 257);
    h.write("00", 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

let busybox: Buffer | undefined;
/** Import NAME:TAG (busybox plus `size` seeded random bytes) through the API; returns its ID. */
async function importImage(name: string, size = SIZE, seed = `${name}-${n}`): Promise<string> {
  busybox ??= readFileSync(BUSYBOX);
  const key = createHash("sha256").update(seed).digest();
  const c = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const tar = tarOf([
    ["bin/busybox", busybox, 0o755],
    ["data/blob", Buffer.concat([c.update(Buffer.alloc(size)), c.final()]), 0o644],
  ]);
  const [repo, tag] = name.split(":");
  const changes = encodeURIComponent('CMD ["/bin/busybox", "true"]');
  const r = await api("POST", `/images/create?fromSrc=-&repo=${repo}&tag=${tag}&changes=${changes}`, tar);
  const m = /"status":"(sha256:[0-9a-f]{64})"/.exec(r.body);
  if (r.status !== 200 || !m) throw new Error(`import ${name}: ${r.status} ${r.body}`);
  return m[1]!;
}

const usage = (): DiskUsage => usageFromStatfs(bed.dataRoot, statfsSync(bed.dataRoot));
/** Percent of the filesystem that `bytes` are. */
const pct = (bytes: number) => {
  const u = usage();
  return (bytes / (u.usedBytes + u.freeBytes)) * 100;
};
/** Two decimals, down / up: watermarks just below / above a measured usage. */
const down = (p: number) => Math.floor(p * 100) / 100;
const up = (p: number) => Math.ceil(p * 100) / 100;

interface Env {
  dir: string;
  stateDir: string;
  runDir: string;
  textfile: string;
  config(prune?: Record<string, unknown>): Config;
  logs: Record<string, unknown>[];
  log: Logger;
  deps(prune?: Record<string, unknown>): Parameters<typeof runPrune>[0];
}

/** A fresh state dir, run dir, metrics textfile and captured log for one test. */
function fresh(): Env {
  n++;
  const dir = path.join(bed.scratch, "t", String(n));
  mkdirSync(dir, { recursive: true });
  const stateDir = path.join(dir, "state");
  const runDir = path.join(dir, "run");
  const textfile = path.join(dir, "metrics", "imagekeeper.prom");
  const logs: Record<string, unknown>[] = [];
  const log = pino(
    { level: "debug" },
    { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) },
  );
  const config = (prune: Record<string, unknown> = {}) =>
    configSchema.parse({
      stateDir,
      runDir,
      docker: bed.dockerWrapper,
      metrics: { textfile },
      // Percentages only (the default 4 GiB minFree would keep a 256 MiB disk under pressure);
      // minAge 0: imported images are "pulled" now, and would otherwise be too young to remove.
      prune: { minFree: null, maxFree: null, minAge: "0s", beforeRuns: true, ...prune },
    });
  return {
    dir,
    stateDir,
    runDir,
    textfile,
    config,
    logs,
    log,
    deps: (prune) => ({ config: config(prune), engine, docker: docker(bed.dockerWrapper), log }),
  };
}

const levels: Record<number, string> = { 20: "debug", 30: "info", 40: "warn", 50: "error" };
/** The captured log lines whose msg starts with `prefix`, as [level, msg, fields]. */
const logged = (e: Env, prefix: string) =>
  e.logs
    .filter((l) => typeof l.msg === "string" && l.msg.startsWith(prefix))
    .map((l): Record<string, unknown> => ({ ...l, level: levels[l.level as number] }));

const prom = (e: Env) => readFileSync(e.textfile, "utf8");
/** The textfile's samples of one metric family, sorted. */
const metric = (e: Env, name: string) =>
  lines(prom(e))
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .sort();
/** imagekeeper_prune_runs_total by outcome, as the textfile says. */
const runsTotal = (e: Env) =>
  Object.fromEntries(
    metric(e, "imagekeeper_prune_runs_total").map((l) => {
      const m = /outcome="([^"]+)"\} (\d+)$/.exec(l)!;
      return [m[1]!, Number(m[2])];
    }),
  );
/** A watermark percent as the textfile writes its ratio. */
const ratio = (percent: number) => {
  const r = percent / 100;
  return Number.isInteger(r) ? String(r) : r.toPrecision(6);
};
const u2 = (d: DiskUsage) => ({ usedPercent: Math.round(d.usedPercent * 100) / 100, freeBytes: d.freeBytes });

/** A closed window: an hourly minute half an hour away, open one minute. */
const closedWindow = () => ({
  window: `${(new Date().getMinutes() + 30) % 60} * * * *`,
  windowDuration: "1m",
});

beforeEach(async () => {
  await resetEngine();
});

/** Usage as a prune's reason writes it. */
const usageText = (d: DiskUsage) => `usage ${u2(d).usedPercent}%, ${formatBytes(d.freeBytes)} free`;
/** The percent of the disk one imported image takes (its bytes, plus busybox). */
const imagePct = () => pct(SIZE + 2 * MiB);

/** Watermarks for a prune that must remove `k` of the images (removal order = import order). */
function pressureFor(k: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const u = usage().usedPercent;
  return {
    highWatermarkPercent: down(u - 1),
    lowWatermarkPercent: down(u - (k - 0.5) * imagePct()),
    criticalWatermarkPercent: 99,
    ...extra,
  };
}

const lockIsFree = async (runDir: string): Promise<boolean> => {
  const ex = await tryExclusive(runDir);
  if (ex.ok) await ex.lock.release();
  return ex.ok;
};

const runs: RunLease[] = [];
afterAll(() => {
  for (const r of runs) r.release();
});
async function liveRun(runDir: string): Promise<RunLease> {
  const lease = await startRunLease(runDir, { command: ["sleep", "60"], waitMs: 5000 });
  if (!lease) throw new Error("no run lease");
  runs.push(lease);
  return lease;
}

const entry = (r: PruneRun, id: string) =>
  r.result.kept.find((k) => k.id === id) ?? r.result.removed.find((k) => k.id === id);

describe("runPrune against a real engine", () => {
  it("no pressure: nothing planned or removed; the last prune, sightings and metrics are recorded, no journal entry", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const b = await importImage("ikt/b:1");
    const u = usage().usedPercent;
    const high = Math.min(99, up(u) + 10);
    const run = await runPrune(e.deps({ highWatermarkPercent: high, lowWatermarkPercent: high - 5 }), {
      trigger: "a test",
    });
    const reason = `usage ${run.result.before.usedPercent}% is below the high watermark (${high}%)`;
    expect(run.outcome).toBe("no-pressure");
    expect(run.reason).toBe(reason);
    expect(run.plan).toBeNull();
    expect(run.exec).toBeNull();
    expect(run.dryRun).toBe(false);
    expect(run.after).toEqual(run.before);
    expect(run.before.path).toBe(bed.dataRoot);
    expect(Math.abs(run.before.usedPercent - u)).toBeLessThan(0.5);
    expect(run.result).toEqual({
      outcome: "no-pressure",
      before: u2(run.before),
      after: u2(run.before),
      removed: [],
      kept: [],
    });
    expect(await imageIds()).toEqual(new Set([a, b]));
    expect(readPruneState(e.stateDir).state).toEqual({
      version: 1,
      last: {
        at: run.at.toISOString(),
        outcome: "no-pressure",
        reason: `${reason} (a test)`,
        before: u2(run.before),
        after: u2(run.before),
        bytesFreed: 0,
        imagesRemoved: 0,
      },
      lastCompleted: null,
      consecutiveDeferrals: 0,
    });
    // No-pressure checks are not history.
    expect(readJournal(e.stateDir)).toEqual({ entries: [], problems: [] });
    const ledger = readLedger(e.stateDir).ledger;
    expect(Object.keys(ledger.images).sort()).toEqual([a, b].sort());
    expect(ledger.images[a]!.firstSeen).toBe(run.at.getTime());
    expect(runsTotal(e)).toEqual({
      "no-pressure": 1,
      "outside-window": 0,
      deferred: 0,
      pruned: 0,
      insufficient: 0,
    });
    expect(metric(e, "imagekeeper_disk_usage_ratio")).toEqual([
      `imagekeeper_disk_usage_ratio ${(run.after.usedPercent / 100).toPrecision(6)}`,
    ]);
    expect(metric(e, "imagekeeper_disk_watermark_ratio")).toEqual([
      `imagekeeper_disk_watermark_ratio{level="critical"} 0.980000`,
      `imagekeeper_disk_watermark_ratio{level="high"} ${ratio(high)}`,
      `imagekeeper_disk_watermark_ratio{level="low"} ${ratio(high - 5)}`,
    ]);
    expect(logged(e, "usage ").map((l) => [l.level, l.msg])).toEqual([
      ["info", `usage ${run.result.before.usedPercent}% of ${bed.dataRoot}`],
    ]);
    expect(logged(e, "prune no-pressure").map((l) => [l.level, l.msg, l.outcome, l.removed])).toEqual([
      ["info", `prune no-pressure (a test): ${reason}`, "no-pressure", 0],
    ]);
    expect(logged(e, "the last-prune state file")).toEqual([]);
    // The prune took its own lock and let it go.
    expect(await lockIsFree(e.runDir)).toBe(true);
  });

  it("outside the window and below critical: outside-window, nothing removed, recorded in the journal", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const w = closedWindow();
    const run = await runPrune(e.deps(pressureFor(1, w)));
    const next = (await windowState(w.window, 60_000, run.at)).nextOpen;
    const high = pressureFor(1).highWatermarkPercent as number;
    expect(run.outcome).toBe("outside-window");
    expect(run.reason).toMatch(
      /^usage [\d.]+% is at or above the high watermark \([\d.]+%\), below critical \(99%\), and the prune window is closed \(next opens /,
    );
    expect(run.reason.endsWith(`(next opens ${next})`)).toBe(true);
    expect(high).toBeGreaterThan(0);
    expect(run.plan).toBeNull();
    expect(run.exec).toBeNull();
    expect(await imageIds()).toEqual(new Set([a]));
    expect(readJournal(e.stateDir).entries).toEqual([
      {
        at: run.at.toISOString(),
        kind: "prune",
        outcome: "outside-window",
        reason: run.reason,
        before: u2(run.before),
        after: u2(run.before),
        freedBytes: 0,
        removed: 0,
      },
    ]);
    expect(readPruneState(e.stateDir).state.last).toEqual({
      at: run.at.toISOString(),
      outcome: "outside-window",
      reason: run.reason,
      before: u2(run.before),
      after: u2(run.before),
      bytesFreed: 0,
      imagesRemoved: 0,
    });
    expect(runsTotal(e)["outside-window"]).toBe(1);
  });

  it("critical outside the window: prunes anyway, oldest first, to the target; the lock is released", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const b = await importImage("ikt/b:1");
    const p = pressureFor(1, closedWindow());
    p.criticalWatermarkPercent = p.highWatermarkPercent;
    const removedNow: string[] = [];
    const run = await runPrune(e.deps(p), { onRemoved: (r) => removedNow.push(r.image.id) });
    expect(run.plan?.gate).toEqual({
      proceed: true,
      level: "critical",
      reason: `usage ${u2(run.plan!.before).usedPercent}% is at or above the critical watermark (${p.criticalWatermarkPercent}%)`,
    });
    expect(run.outcome).toBe("pruned");
    expect(run.reason).toBe(
      `${usageText(run.after)}: the target (below the low watermark ${p.lowWatermarkPercent}%) reached`,
    );
    expect(run.result.removed.map((r) => [r.ref, r.id])).toEqual([["ikt/a:1", a]]);
    expect(run.result.removed[0]!.reason).toMatch(/^lru \(#1\): no usage history; last used /);
    expect(entry(run, b)?.reason).toMatch(
      /^not-needed \(#2, lru\): the target .* was reached before its turn/,
    );
    expect(removedNow).toEqual([a]);
    expect(await imageIds()).toEqual(new Set([b]));
    expect(await lockIsFree(e.runDir)).toBe(true);
  });

  it("inside an open window: a routine prune says so; at critical usage it is critical (dry runs)", async () => {
    const e = fresh();
    await importImage("ikt/a:1");
    const open = { window: "* * * * *", windowDuration: "1h" };
    const routine = await runPrune(e.deps(pressureFor(1, open)), { dryRun: true });
    expect(routine.plan?.gate).toMatchObject({ proceed: true, level: "routine" });
    expect(routine.reason).toMatch(
      /^usage [\d.]+% is at or above the high watermark \([\d.]+%\), inside the prune window$/,
    );
    const p = pressureFor(1, open);
    p.criticalWatermarkPercent = p.highWatermarkPercent;
    const critical = await runPrune(e.deps(p), { dryRun: true });
    expect(critical.plan?.gate).toMatchObject({ proceed: true, level: "critical" });
    expect(critical.reason).toBe(
      `usage ${u2(critical.before).usedPercent}% is at or above the critical watermark (${p.criticalWatermarkPercent}%)`,
    );
  });

  it("a live run lease defers the prune: nothing removed, the deferral counted", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const lease = await liveRun(e.runDir);
    try {
      const dry = await runPrune(e.deps(pressureFor(1)), { dryRun: true });
      expect(dry.outcome).toBe("deferred");
      const run = await runPrune(e.deps(pressureFor(1)), { trigger: "the timer" });
      const reason = `1 run lease(s) live (${lease.id}: pid ${process.pid} sleep 60): a prune never runs during a CI run`;
      expect(run).toMatchObject({ outcome: "deferred", reason, plan: null, exec: null });
      expect(run.result.removed).toEqual([]);
      expect(await imageIds()).toEqual(new Set([a]));
      expect(readPruneState(e.stateDir).state).toMatchObject({
        last: { outcome: "deferred", reason: `${reason} (the timer)`, bytesFreed: 0, imagesRemoved: 0 },
        lastCompleted: null,
        consecutiveDeferrals: 1,
      });
      expect(readJournal(e.stateDir).entries.map((x) => [x.kind, "outcome" in x ? x.outcome : ""])).toEqual([
        ["prune", "deferred"],
      ]);
      expect(metric(e, "imagekeeper_prune_deferrals_total")).toEqual(["imagekeeper_prune_deferrals_total 1"]);
      expect(runsTotal(e).deferred).toBe(1);
    } finally {
      lease.release();
    }
  });

  it("the prune lock held by another prune (no lease on record): deferred, saying so", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const other = await tryExclusive(e.runDir);
    if (!other.ok) throw new Error("lock");
    try {
      const run = await runPrune(e.deps(pressureFor(1)));
      expect(run.outcome).toBe("deferred");
      expect(run.reason).toBe("the prune lock is held (another prune, or a run taking its lease right now)");
      expect(await imageIds()).toEqual(new Set([a]));
    } finally {
      await other.lock.release();
    }
  });

  it("with the exclusive lock passed in: prunes without taking it, and leaves it held", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const b = await importImage("ikt/b:1");
    const held = await tryExclusive(e.runDir);
    if (!held.ok) throw new Error("lock");
    try {
      const run = await runPrune(e.deps(pressureFor(1)), { lock: held.lock });
      expect(run.outcome).toBe("pruned");
      expect(run.result.removed.map((r) => r.id)).toEqual([a]);
      expect(await imageIds()).toEqual(new Set([b]));
      expect(await lockIsFree(e.runDir)).toBe(false);
    } finally {
      await held.lock.release();
    }
    expect(await lockIsFree(e.runDir)).toBe(true);
  });

  it("a dry run changes and records nothing (not even sightings); a damaged ledger is reported, not rebuilt", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const b = await importImage("ikt/b:1");
    const c = await importImage("ikt/c:1");
    const run = await runPrune(e.deps(pressureFor(2)), { dryRun: true, trigger: "x" });
    expect(run.dryRun).toBe(true);
    expect(run.exec).toBeNull();
    expect(run.after).toEqual(run.before);
    expect(run.outcome).toBe("pruned");
    expect(run.reason).toBe(run.plan!.gate.reason);
    expect(run.result.outcome).toBe("pruned");
    expect(run.result.removed.map((r) => r.id)).toEqual([a, b]);
    expect(entry(run, c)?.reason).toMatch(/^not-needed \(#3, lru\): expected to reach the target/);
    expect(await imageIds()).toEqual(new Set([a, b, c]));
    for (const f of ["ledger.json", "last-prune.json", "journal.jsonl"])
      expect(existsSync(path.join(e.stateDir, f))).toBe(false);
    expect(existsSync(e.textfile)).toBe(false);
    expect(logged(e, "the ledger")).toEqual([]);

    mkdirSync(e.stateDir, { recursive: true });
    writeFileSync(path.join(e.stateDir, "ledger.json"), "{ not json");
    await runPrune(e.deps(pressureFor(2)), { dryRun: true });
    expect(readFileSync(path.join(e.stateDir, "ledger.json"), "utf8")).toBe("{ not json");
    expect(logged(e, "the ledger").map((l) => [l.level, l.msg, typeof l.problem])).toEqual([
      [
        "warn",
        "the ledger could not be used; images without history count as first seen now, so nothing is removed as old",
        "string",
      ],
    ]);
    expect(await imageIds()).toEqual(new Set([a, b, c]));
  });

  it("a real prune with a damaged ledger sets it aside, rebuilds it and says so", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    mkdirSync(e.stateDir, { recursive: true });
    writeFileSync(path.join(e.stateDir, "ledger.json"), "{ not json");
    const high = Math.min(99, up(usage().usedPercent) + 10);
    const run = await runPrune(e.deps({ highWatermarkPercent: high, lowWatermarkPercent: high - 5 }));
    expect(run.outcome).toBe("no-pressure");
    expect(Object.keys(readLedger(e.stateDir).ledger.images)).toEqual([a]);
    expect(logged(e, "the ledger").map((l) => [l.level, l.msg])).toEqual([
      [
        "warn",
        "the ledger could not be used: it was set aside and rebuilt; images without history count as first seen now, so nothing is removed as old",
      ],
    ]);
  });

  it("assumeUsagePercent: refused without dryRun (nothing recorded); a dry run plans at that usage", async () => {
    const e = fresh();
    await importImage("ikt/a:1");
    const high = Math.min(95, up(usage().usedPercent) + 10);
    const cfg = { highWatermarkPercent: high, lowWatermarkPercent: high - 5, criticalWatermarkPercent: 99 };
    const err = await runPrune(e.deps(cfg), { assumeUsagePercent: 98 }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as Error).message).toBe("runPrune: assumeUsagePercent is for dry runs only");
    expect(existsSync(e.stateDir)).toBe(false);
    const run = await runPrune(e.deps(cfg), { dryRun: true, assumeUsagePercent: 98 });
    expect(run.before.usedPercent).toBe(98);
    expect(run.plan?.gate).toMatchObject({ proceed: true, level: "routine" });
    expect(logged(e, "usage ").map((l) => l.msg)).toEqual([
      `usage 98% of ${bed.dataRoot} (assumed 98%: --assume-usage)`,
    ]);
    // Without it, the same config sees no pressure.
    expect((await runPrune(e.deps(cfg), { dryRun: true })).outcome).toBe("no-pressure");
  });

  it("incomingBytes: pressure and target count the bytes about to be pulled", async () => {
    const e = fresh();
    const ids = [await importImage("ikt/a:1"), await importImage("ikt/b:1"), await importImage("ikt/c:1")];
    const u = usage();
    const cap = u.usedBytes + u.freeBytes;
    const high = up(u.usedPercent) + 0.5;
    const low = down(u.usedPercent - 0.5);
    const incoming = Math.round(1.5 * (SIZE + 2 * MiB));
    const cfg = { highWatermarkPercent: high, lowWatermarkPercent: low, criticalWatermarkPercent: 99 };
    expect((await runPrune(e.deps(cfg), { dryRun: true })).outcome).toBe("no-pressure");
    const run = await runPrune(e.deps(cfg), { incomingBytes: incoming });
    expect(run.plan?.incomingBytes).toBe(incoming);
    // The dry run's measurement without incoming bytes, then the prune's with them.
    expect(
      logged(e, "usage ")
        .filter((l) => l.step === "measure" && l.path === bed.dataRoot)
        .map((l) => [l.msg, l.incomingBytes]),
    ).toEqual([
      [expect.stringMatching(/^usage [\d.]+% of \S+$/), undefined],
      [
        `usage ${u2(run.before).usedPercent}% of ${bed.dataRoot} (plus ${formatBytes(incoming)} about to be pulled)`,
        incoming,
      ],
    ]);
    expect(run.plan?.gate.reason).toMatch(
      new RegExp(`^usage [\\d.]+% plus the ${incoming} bytes about to be pulled reaches the high watermark`),
    );
    expect(run.outcome).toBe("pruned");
    expect(run.reason).toBe(
      `${usageText(run.after)}: the target (below the low watermark ${low}% plus ${formatBytes(incoming)} about to be pulled) reached`,
    );
    // Stopped at the first measurement with room for the incoming bytes below low, not before.
    const fits = (d: DiskUsage) => d.usedBytes + incoming < (cap * low) / 100;
    const afters = run.exec!.removed.map((r) => r.after!);
    expect(afters.length).toBeGreaterThanOrEqual(2);
    expect(afters.slice(0, -1).some(fits)).toBe(false);
    expect(fits(afters.at(-1)!)).toBe(true);
    expect(run.result.removed.map((r) => r.id)).toEqual(ids.slice(0, afters.length));
  });

  it("reserved images are kept; insufficient names what blocked, in the result and the last prune", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const kept = await importImage("ikt/keep:1");
    const used = await importImage("ikt/used:1");
    const mine = await importImage("ikt/mine:1");
    dockerCli(["create", "--network", "none", "--name", "user", "ikt/used:1"]);
    const run = await runPrune(e.deps({ ...pressureFor(1), lowWatermarkPercent: 1, keep: ["ikt/keep:*"] }), {
      reserved: [{ id: mine, reason: "about to be used by this test" }],
      trigger: "t",
    });
    expect(run.outcome).toBe("insufficient");
    expect(run.result.removed.map((r) => r.id)).toEqual([a]);
    expect(run.result.kept.map((k) => [k.id, k.reason])).toEqual([
      [used, "in-use: used by container user (created)"],
      [mine, "reserved: about to be used by this test"],
      [kept, 'keep-pattern: ikt/keep:1 matches prune.keep pattern "ikt/keep:*"'],
    ]);
    const blocked = "nothing else may be removed (blocked: in-use 1, reserved 1, keep-pattern 1)";
    expect(run.reason).toBe(
      `${usageText(run.after)}: the target (below the low watermark 1%) not reached: ${blocked}`,
    );
    expect(await imageIds()).toEqual(new Set([kept, used, mine]));
    const sizes = Object.fromEntries(run.plan!.kept.map((k) => [k.id, k.sizeBytes]));
    const last = readPruneState(e.stateDir).state;
    expect(last.last).toEqual({
      at: run.at.toISOString(),
      outcome: "insufficient",
      reason: `${run.reason} (t)`,
      before: u2(run.before),
      after: u2(run.after),
      bytesFreed: run.after.freeBytes - run.before.freeBytes,
      imagesRemoved: 1,
      blocked: [
        { code: "in-use", images: 1, bytes: sizes[used] },
        { code: "reserved", images: 1, bytes: sizes[mine] },
        { code: "keep-pattern", images: 1, bytes: sizes[kept] },
      ],
    });
    expect(last.lastCompleted).toEqual(last.last);
    expect(logged(e, "prune insufficient").map((l) => [l.level, l.msg, l.outcome, l.removed])).toEqual([
      ["warn", `prune insufficient (t): ${run.reason}`, "insufficient", 1],
    ]);
    expect(runsTotal(e).insufficient).toBe(1);
  });

  it("the dangling step: docker image prune takes the untagged images first", async () => {
    const e = fresh();
    const old = await importImage("ikt/d:1", SIZE, "old");
    const cur = await importImage("ikt/d:1", SIZE, "new");
    const t = await importImage("ikt/t:1");
    const run = await runPrune(e.deps(pressureFor(1)));
    expect(run.plan?.dangling.method).toBe("image-prune");
    expect(run.outcome).toBe("pruned");
    expect(run.result.removed.map((r) => r.id)).toEqual([old]);
    expect(run.result.removed[0]!.reason).toMatch(/^dangling \(#1\): untagged, last used /);
    expect(await imageIds()).toEqual(new Set([cur, t]));
  });

  it("the dangling step one by one when docker's prune would take a protected untagged image", async () => {
    const e = fresh();
    const old1 = await importImage("ikt/d:1", SIZE, "old1");
    const old2 = await importImage("ikt/d:1", SIZE, "old2");
    const cur = await importImage("ikt/d:1", SIZE, "new");
    const run = await runPrune(e.deps(pressureFor(1)), {
      reserved: [{ id: old2, reason: "kept by the test" }],
    });
    expect(run.plan?.dangling.method).toBe("each");
    expect(run.result.removed.map((r) => r.id)).toEqual([old1]);
    expect(run.exec!.removed[0]!.after).toBeDefined();
    expect(await imageIds()).toEqual(new Set([old2, cur]));
  });

  it("pruned: removals in order until the target, each reported once; journal, last prune and metrics agree", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const b = await importImage("ikt/b:1");
    const c = await importImage("ikt/c:1");
    const seen: { id: string; after: DiskUsage | undefined }[] = [];
    const p = pressureFor(2);
    const run = await runPrune(e.deps({ ...p, maxFree: "1MiB" }), {
      trigger: "before imagekeeper run",
      onRemoved: (r) => seen.push({ id: r.image.id, after: r.after }),
    });
    expect(run.outcome).toBe("pruned");
    expect(run.reason).toBe(
      `${usageText(run.after)}: the target (below the low watermark ${p.lowWatermarkPercent}%, 1.0 MiB free) reached`,
    );
    expect(run.result.removed.map((r) => r.id)).toEqual([a, b]);
    expect(seen.map((s) => s.id)).toEqual([a, b]);
    expect(seen.every((s) => s.after !== undefined)).toBe(true);
    expect(await imageIds()).toEqual(new Set([c]));
    const freed = run.after.freeBytes - run.before.freeBytes;
    expect(freed).toBeGreaterThan(2 * SIZE);
    const reason = `${run.reason} (before imagekeeper run)`;
    const sizes = run.exec!.removed.map((r) => r.image.sizeBytes);
    expect(sizes.every((x) => x > SIZE)).toBe(true);
    expect(readJournal(e.stateDir).entries).toEqual([
      {
        at: run.at.toISOString(),
        kind: "prune",
        outcome: "pruned",
        reason,
        before: u2(run.before),
        after: u2(run.after),
        freedBytes: freed,
        removed: 2,
      },
      ...run.result.removed.map((r, i) => ({
        at: run.at.toISOString(),
        kind: "removal",
        id: r.id,
        ref: r.ref,
        sizeBytes: sizes[i],
        reason: r.reason,
      })),
    ]);
    const st = readPruneState(e.stateDir).state;
    expect(st.last).toEqual({
      at: run.at.toISOString(),
      outcome: "pruned",
      reason,
      before: u2(run.before),
      after: u2(run.after),
      bytesFreed: freed,
      imagesRemoved: 2,
    });
    expect(st.lastCompleted).toEqual(st.last);
    expect(runsTotal(e).pruned).toBe(1);
    expect(metric(e, "imagekeeper_prune_images_removed_total")).toEqual([
      "imagekeeper_prune_images_removed_total 2",
    ]);
    expect(metric(e, "imagekeeper_prune_freed_bytes_total")).toEqual([
      `imagekeeper_prune_freed_bytes_total ${freed}`,
    ]);
    expect(metric(e, "imagekeeper_disk_usage_ratio")).toEqual([
      `imagekeeper_disk_usage_ratio ${(run.after.usedPercent / 100).toPrecision(6)}`,
    ]);
    expect(logged(e, "prune pruned").map((l) => [l.level, l.freedBytes, l.removed])).toEqual([
      ["info", freed, 2],
    ]);
    expect(await lockIsFree(e.runDir)).toBe(true);
  });

  it("images that became used after the plan are skipped, each with why; the skips are counted in the reason", async () => {
    const e = fresh();
    const [a, b, c, d] = [
      await importImage("ikt/a:1"),
      await importImage("ikt/b:1"),
      await importImage("ikt/c:1"),
      await importImage("ikt/d:1"),
    ];
    let once = false;
    const run = await runPrune(e.deps({ ...pressureFor(1), lowWatermarkPercent: 1 }), {
      onRemoved: () => {
        if (once) return;
        once = true;
        // Between the plan and their turn: a container, a service spec, a previous service spec.
        dockerCli(["create", "--network", "none", "--name", "late", "ikt/b:1"]);
        dockerCli([
          "service",
          "create",
          "--detach",
          "--no-resolve-image",
          "--replicas",
          "0",
          "--name",
          "svc",
          "ikt/c:1",
        ]);
        dockerCli([
          "service",
          "create",
          "--detach",
          "--no-resolve-image",
          "--replicas",
          "0",
          "--name",
          "old",
          "ikt/d:1",
        ]);
        dockerCli(["service", "update", "--detach", "--no-resolve-image", "--image", "ikt/gone:9", "old"]);
      },
    });
    expect(run.outcome).toBe("insufficient");
    expect(run.result.removed.map((r) => r.id)).toEqual([a]);
    expect(run.result.kept.map((k) => [k.id, k.reason])).toEqual([
      [b, "skipped (#2, lru): in use now: used by container late (created)"],
      [c, "skipped (#3, lru): in use now: named by the spec of swarm service svc"],
      [d, "skipped (#4, lru): in use now: named by the previous spec of swarm service old"],
    ]);
    expect(run.reason).toBe(
      `${usageText(run.after)}: the target (below the low watermark 1%) not reached: nothing else may be removed (blocked: , skipped 3)`,
    );
    expect(await imageIds()).toEqual(new Set([b, c, d]));
  });
  it("an abort between removals stops the prune: it rejects with the abort's reason and lets the lock go", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const b = await importImage("ikt/b:1");
    const c = await importImage("ikt/c:1");
    const ac = new AbortController();
    const err = await runPrune(
      { ...e.deps({ ...pressureFor(1), lowWatermarkPercent: 1 }), signal: ac.signal },
      { onRemoved: () => ac.abort(new Error("stop here")) },
    ).catch((x: unknown) => x);
    expect((err as Error).message).toBe("stop here");
    expect(await imageIds()).toEqual(new Set([b, c]));
    expect(a).not.toBe(b);
    expect(existsSync(path.join(e.stateDir, "last-prune.json"))).toBe(false);
    expect(await lockIsFree(e.runDir)).toBe(true);
  });

  it("a damaged last-prune file is reported and rewritten; one that cannot be written is reported, the prune still returns", async () => {
    const e = fresh();
    await importImage("ikt/a:1");
    const high = Math.min(99, up(usage().usedPercent) + 10);
    const cfg = { highWatermarkPercent: high, lowWatermarkPercent: high - 5 };
    mkdirSync(e.stateDir, { recursive: true });
    writeFileSync(path.join(e.stateDir, "last-prune.json"), '{"version": 7}');
    const run = await runPrune(e.deps(cfg));
    const warned = logged(e, "the last-prune state file");
    expect(warned.map((l) => [l.level, l.msg])).toEqual([
      ["warn", "the last-prune state file was damaged; rewritten"],
    ]);
    expect(String(warned[0]!.problem)).toMatch(/last-prune\.json does not match its schema/);
    expect(readPruneState(e.stateDir)).toEqual({
      state: expect.objectContaining({
        last: expect.objectContaining({ outcome: "no-pressure", at: run.at.toISOString() }),
      }),
    });

    const e2 = fresh();
    mkdirSync(path.join(e2.stateDir, "last-prune.json"), { recursive: true });
    const run2 = await runPrune(e2.deps(cfg));
    expect(run2.outcome).toBe("no-pressure");
    const warned2 = logged(e2, "the last-prune state file");
    expect(warned2.map((l) => l.level)).toEqual(["warn"]);
    expect(String(warned2[0]!.problem)).toMatch(/^could not record the prune: \S/);
  });

  it("a state dir that cannot hold the ledger: a ToolError naming it, with the fix", async () => {
    const e = fresh();
    await importImage("ikt/a:1");
    writeFileSync(e.stateDir, "a file, not a directory");
    const err = await runPrune(e.deps(pressureFor(1))).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).message.startsWith(`cannot update the ledger in ${e.stateDir}: `)).toBe(true);
    expect((err as ToolError).message.length).toBeGreaterThan(
      `cannot update the ledger in ${e.stateDir}: `.length,
    );
    expect((err as ToolError).hint).toBe(
      "The prune records sightings of images there: make stateDir (IMAGEKEEPER_STATE_DIR) writable for this user.",
    );
  });
});

/**
 * gapPrune logs through the process logger: its JSON lines, captured for one test. `when` runs an
 * action `delayMs` after the first line whose message contains `text` (what the gap prune says it
 * waits for), so a test acts at a known step rather than after a guessed delay.
 */
function captureProcessLog(): {
  lines: Record<string, unknown>[];
  when(text: string, delayMs: number, action: () => void): void;
  stop(): void;
} {
  const out: Record<string, unknown>[] = [];
  const hooks: { text: string; delayMs: number; action: () => void }[] = [];
  const timers: NodeJS.Timeout[] = [];
  initLogger({
    ...settingsFromEnv({ IMAGEKEEPER_LOG_LEVEL: "debug", IMAGEKEEPER_LOG_FORMAT: "json" }),
    journal: false,
  });
  setLogWriter((t) => {
    for (const l of t.split("\n").filter(Boolean)) {
      const line = JSON.parse(l) as Record<string, unknown>;
      out.push(line);
      for (const h of [...hooks])
        if (String(line.msg).includes(h.text)) {
          hooks.splice(hooks.indexOf(h), 1);
          timers.push(setTimeout(h.action, h.delayMs));
        }
    }
  });
  return {
    lines: out,
    when(text, delayMs, action) {
      hooks.push({ text, delayMs, action });
    },
    stop() {
      for (const t of timers) clearTimeout(t);
      setLogWriter(undefined);
      initLogger(settingsFromEnv());
    },
  };
}
const msgs = (c: { lines: Record<string, unknown>[] }, level: number) =>
  c.lines.filter((l) => l.level === level).map((l) => String(l.msg));

describe("gapPrune against a real engine", () => {
  const req = (over: Partial<Parameters<typeof gapPrune>[1]> = {}) => ({
    what: "imagekeeper test",
    before: "the test goes on",
    incomingBytes: 0,
    reserved: [],
    ...over,
  });

  it("prune.beforeRuns off: not needed, whatever the disk", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const r = await gapPrune(
      { config: e.config({ ...pressureFor(1), beforeRuns: false }), env: bed.env },
      req(),
    );
    expect(r).toEqual({ kind: "not-needed", reason: "prune.beforeRuns is off" });
    expect(await imageIds()).toEqual(new Set([a]));
  });

  it("inside a run lease (IMAGEKEEPER_LEASE): not needed, no wait for its own run", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const lease = await liveRun(e.runDir);
    try {
      const r = await gapPrune(
        {
          config: e.config({ ...pressureFor(1), gapWait: "20s" }),
          env: { ...bed.env, IMAGEKEEPER_LEASE: lease.id },
        },
        req(),
      );
      expect(r).toEqual({ kind: "not-needed", reason: `inside run lease ${lease.id}` });
      expect(await imageIds()).toEqual(new Set([a]));
    } finally {
      lease.release();
    }
  });

  it("no pressure, nor with the incoming bytes: not needed", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const high = Math.min(99, up(usage().usedPercent) + 10);
    const r = await gapPrune(
      { config: e.config({ highWatermarkPercent: high, lowWatermarkPercent: high - 5 }), env: bed.env },
      req({ incomingBytes: MiB }),
    );
    expect(r.kind).toBe("not-needed");
    expect((r as { reason: string }).reason).toMatch(
      new RegExp(`^usage [\\d.]+% stays below the high watermark \\(${high}%\\)$`),
    );
    expect(await imageIds()).toEqual(new Set([a]));
    expect(existsSync(path.join(e.stateDir, "last-prune.json"))).toBe(false);
  });

  it("under pressure: drains, prunes ignoring the window with the caller's images reserved, releases", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const mine = await importImage("ikt/mine:1");
    const b = await importImage("ikt/b:1");
    const cap = captureProcessLog();
    let r: GapPruneResult;
    try {
      r = await gapPrune(
        { config: e.config(pressureFor(1, closedWindow())), env: bed.env },
        req({ reserved: [{ id: mine, reason: "the caller's" }] }),
      );
    } finally {
      cap.stop();
    }
    expect(r.kind).toBe("pruned");
    const run = (r as Extract<GapPruneResult, { kind: "pruned" }>).run;
    expect((r as { waitedMs: number }).waitedMs).toBeLessThan(1000);
    const gapInfo = msgs(cap, 30).filter((m) => m.startsWith("imagekeeper test: "));
    expect(gapInfo).toHaveLength(1);
    expect(gapInfo[0]).toMatch(
      /^imagekeeper test: usage [\d.]+% is at or above the high watermark \([\d.]+%\): pruning before the test goes on$/,
    );
    const freed = run.after.freeBytes - run.before.freeBytes;
    expect(msgs(cap, 20).filter((m) => m.startsWith("imagekeeper test: gap prune"))).toEqual([
      `imagekeeper test: gap prune pruned: ${run.reason}; freed ${formatBytes(freed)}, 1 image(s) removed`,
    ]);
    expect(run.outcome).toBe("pruned");
    expect(run.result.removed.map((x) => x.id)).toEqual([a]);
    expect(entry(run, mine)?.reason).toBe("reserved: the caller's");
    expect(await imageIds()).toEqual(new Set([mine, b]));
    expect(readPruneState(e.stateDir).state.last?.reason).toBe(
      `${run.reason} (gap prune before imagekeeper test)`,
    );
    expect(await lockIsFree(e.runDir)).toBe(true);
  });

  it("before a pull: nothing to pull is not needed; the pulls' bytes count, the present images are reserved", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const mine = await importImage("ikt/mine:1");
    const b = await importImage("ikt/b:1");
    const u = usage().usedPercent;
    const cfg = e.config({
      highWatermarkPercent: up(u) + 0.5,
      lowWatermarkPercent: down(u - 0.5),
      criticalWatermarkPercent: 99,
    });
    expect(
      await gapPruneBeforePull({ config: cfg, env: bed.env }, [
        { ref: "ikt/mine:1", action: "skip", presentId: mine },
      ]),
    ).toEqual({ kind: "not-needed", reason: "nothing to pull" });
    const cap = captureProcessLog();
    let r: GapPruneResult;
    try {
      r = await gapPruneBeforePull({ config: cfg, env: bed.env }, [
        { ref: "ikt/mine:1", action: "skip", presentId: mine },
        { ref: "ikt/new:1", action: "pull", sizeBytes: 2 * MiB },
        { ref: "ikt/new:2", action: "pull", sizeBytes: MiB },
        { ref: "ikt/new:3", action: "pull" },
      ]);
    } finally {
      cap.stop();
    }
    expect(r.kind).toBe("pruned");
    expect(msgs(cap, 30).filter((m) => m.startsWith("imagekeeper prepull: "))).toEqual([
      expect.stringMatching(
        /^imagekeeper prepull: usage [\d.]+% plus the 3145728 bytes about to be pulled reaches the high watermark \([\d.]+%\): pruning before pulling$/,
      ),
    ]);
    const run = (r as Extract<GapPruneResult, { kind: "pruned" }>).run;
    expect(run.plan?.incomingBytes).toBe(3 * MiB);
    expect(readPruneState(e.stateDir).state.last?.reason).toBe(
      `${run.reason} (gap prune before imagekeeper prepull)`,
    );
    expect(entry(run, mine)?.reason).toBe(
      "reserved: needed by the prepull that triggered this prune (ikt/mine:1)",
    );
    expect(run.result.removed.map((x) => x.id)).toEqual([a]);
    expect(await imageIds()).toEqual(new Set([mine, b]));
  });

  it("a daemon that cannot be reached: failed, with why", async () => {
    const e = fresh();
    const sock = path.join(e.dir, "none.sock");
    const r = await gapPrune({ config: e.config(), env: { DOCKER_HOST: `unix://${sock}` } }, req());
    expect(r).toEqual({ kind: "failed", reason: `cannot reach the Docker daemon at unix://${sock}: ENOENT` });
  });

  it("a live run outlasting prune.gapWait: gave up, no prune", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const lease = await liveRun(e.runDir);
    const second = await liveRun(e.runDir);
    try {
      const r = await gapPrune(
        { config: e.config({ ...pressureFor(1), gapWait: "1s" }), env: bed.env },
        req(),
      );
      expect(r.kind).toBe("gave-up");
      expect([
        `2 run(s) still live (${lease.id}, ${second.id}) after prune.gapWait 1.0s`,
        `2 run(s) still live (${second.id}, ${lease.id}) after prune.gapWait 1.0s`,
      ]).toContain((r as { reason: string }).reason);
      expect((r as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(1000);
      expect(await imageIds()).toEqual(new Set([a]));
      expect(existsSync(path.join(e.stateDir, "last-prune.json"))).toBe(false);
    } finally {
      lease.release();
      second.release();
    }
  });

  it("waits for a live run that ends within prune.gapWait, then prunes; says what it waits for", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const b = await importImage("ikt/b:1");
    const lease = await liveRun(e.runDir);
    const cap = captureProcessLog();
    cap.when("live run(s) to end", 400, () => lease.release());
    let r: GapPruneResult;
    try {
      r = await gapPrune({ config: e.config({ ...pressureFor(1), gapWait: "10s" }), env: bed.env }, req());
    } finally {
      lease.release();
      cap.stop();
    }
    expect(r.kind).toBe("pruned");
    expect((r as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(300);
    expect((r as Extract<GapPruneResult, { kind: "pruned" }>).run.result.removed.map((x) => x.id)).toEqual([
      a,
    ]);
    expect(await imageIds()).toEqual(new Set([b]));
    const gapInfo = msgs(cap, 30).filter((m) => m.startsWith("imagekeeper test: "));
    expect(gapInfo).toHaveLength(1);
    expect(
      gapInfo[0]!.endsWith(
        `: pruning before the test goes on; waiting up to 10.0s (prune.gapWait) for 1 live run(s) to end (${lease.id}); new runs wait behind this prune`,
      ),
    ).toBe(true);
  });

  it("interrupted while it waits: aborted, no prune", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const lease = await liveRun(e.runDir);
    const ac = new AbortController();
    const cap = captureProcessLog();
    cap.when("live run(s) to end", 200, () => ac.abort());
    try {
      const r = await gapPruneBeforePull(
        { config: e.config({ ...pressureFor(1), gapWait: "8s" }), env: bed.env, signal: ac.signal },
        [{ ref: "ikt/new:1", action: "pull", sizeBytes: MiB }],
      );
      expect(r).toEqual({ kind: "aborted" });
      expect(await imageIds()).toEqual(new Set([a]));
    } finally {
      cap.stop();
      lease.release();
    }
  });

  it("behind another gap prune's drain: gives up if it outlasts gapWait, goes on without a prune if it made room, prunes if not", async () => {
    const e = fresh();
    const a = await importImage("ikt/a:1");
    const b = await importImage("ikt/b:1");
    const c = await importImage("ikt/c:1");
    const p = pressureFor(1);
    const ahead = await drainAndLock(e.runDir, { waitMs: 5000, what: "the test's drain" });
    if (!ahead.ok) throw new Error("drain");
    let released = false;
    try {
      const r1 = await gapPrune({ config: e.config({ ...p, gapWait: "1s" }), env: bed.env }, req());
      expect(r1).toMatchObject({
        kind: "gave-up",
        reason: "the host did not drain after prune.gapWait 1.0s",
      });

      // Once this one waits behind it, the drain ahead removes an image (room made) and ends.
      const cap = captureProcessLog();
      cap.when("is draining the host", 300, () => {
        released = true;
        void api("DELETE", `/images/${a}`).then(() => ahead.lock.release());
      });
      let r2: GapPruneResult;
      try {
        r2 = await gapPrune({ config: e.config({ ...p, gapWait: "10s" }), env: bed.env }, req());
      } finally {
        cap.stop();
      }
      expect(r2).toEqual({ kind: "not-needed", reason: "the gap prune ahead made room" });
      expect(msgs(cap, 30).filter((m) => m.includes("the gap prune ahead made room"))).toHaveLength(1);
      expect(await imageIds()).toEqual(new Set([b, c]));
    } finally {
      if (!released) await ahead.lock.release();
    }

    // A drain ahead that made no room: this one then prunes.
    const p2 = pressureFor(1);
    const ahead2 = await drainAndLock(e.runDir, { waitMs: 5000, what: "the test's drain" });
    if (!ahead2.ok) throw new Error("drain");
    const cap3 = captureProcessLog();
    cap3.when("is draining the host", 300, () => void ahead2.lock.release());
    try {
      let r3: GapPruneResult;
      try {
        r3 = await gapPrune({ config: e.config({ ...p2, gapWait: "10s" }), env: bed.env }, req());
      } finally {
        cap3.stop();
      }
      expect(msgs(cap3, 30).filter((m) => m.includes("made room"))).toEqual([]);
      expect(r3.kind).toBe("pruned");
      expect((r3 as Extract<GapPruneResult, { kind: "pruned" }>).run.result.removed.map((x) => x.id)).toEqual(
        [b],
      );
      expect(await imageIds()).toEqual(new Set([c]));
    } finally {
      await ahead2.lock.release();
    }
  });

  it("behind a drain, the daemon gone when it measures again: prunes as decided, and reports that prune's failure", async () => {
    const e = fresh();
    await importImage("ikt/a:1");
    // The gap prune's own way to the daemon: a unix socket forwarded to it, closed at will.
    const sock = path.join(e.dir, "p.sock");
    const conns = new Set<net.Socket>();
    // Half-open: the engine client ends its side once the request is sent (HTTP/1.0).
    const proxy = net.createServer({ allowHalfOpen: true }, (c) => {
      const up = net.createConnection({ path: bed.socket, allowHalfOpen: true });
      conns.add(c).add(up);
      const end = () => {
        c.destroy();
        up.destroy();
      };
      c.on("error", end);
      up.on("error", end);
      c.pipe(up).pipe(c);
    });
    await new Promise<void>((r) => proxy.listen(sock, r));
    const ahead = await drainAndLock(e.runDir, { waitMs: 5000, what: "the test's drain" });
    if (!ahead.ok) throw new Error("drain");
    // Once it waits behind the drain: the daemon goes away for it, then the drain ends.
    const cap = captureProcessLog();
    cap.when("is draining the host", 100, () => {
      proxy.close();
      for (const x of conns) x.destroy();
      void ahead.lock.release();
    });
    try {
      const r = await gapPrune(
        { config: e.config({ ...pressureFor(1), gapWait: "10s" }), env: { DOCKER_HOST: `unix://${sock}` } },
        req(),
      );
      expect(r.kind).toBe("failed");
      expect((r as { reason: string }).reason).toMatch(
        new RegExp(`^cannot reach the Docker daemon at unix://${sock}: [A-Z]+$`),
      );
      expect(msgs(cap, 30).filter((m) => m.includes("is draining the host"))).toHaveLength(1);
    } finally {
      cap.stop();
      proxy.close();
      await ahead.lock.release();
    }
  });

  it("interrupted during its prune: aborted; the removal under way completes, no other starts", async () => {
    const e = fresh();
    await importImage("ikt/a:1");
    const b = await importImage("ikt/b:1");
    const c = await importImage("ikt/c:1");
    // A docker client that leaves a mark when a removal starts: the test interrupts then.
    const mark = path.join(e.dir, "rm-started");
    const client = path.join(e.dir, "docker");
    writeFileSync(
      client,
      `#!/bin/sh\nif [ "$1" = image ] && [ "$2" = rm ]; then : > '${mark}'; fi\nexec '${bed.dockerWrapper}' "$@"\n`,
    );
    chmodSync(client, 0o755);
    const ac = new AbortController();
    const poll = setInterval(() => {
      if (existsSync(mark)) {
        clearInterval(poll);
        ac.abort();
      }
    }, 5);
    try {
      const r = await gapPruneBeforePull(
        {
          config: { ...e.config({ ...pressureFor(1), lowWatermarkPercent: 1 }), docker: client },
          env: bed.env,
          signal: ac.signal,
        },
        [{ ref: "ikt/new:1", action: "pull", sizeBytes: MiB }],
      );
      expect(r).toEqual({ kind: "aborted" });
      expect(await imageIds()).toEqual(new Set([b, c]));
      expect(await lockIsFree(e.runDir)).toBe(true);
    } finally {
      clearInterval(poll);
    }
  });
});
