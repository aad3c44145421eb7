// Pruning in the gaps between runs, end to end (issue 8): a private dockerd whose data root is a
// small loop-mounted ext4, and a sequence of CI jobs that keeps run leases live back to back: each
// job is a real `imagekeeper prepull` of a recipe (its app image and a shared service image), then
// a real `imagekeeper run -- docker run …` that uses them; the next job's prepull starts as soon as
// the previous run holds its lease. The images of all jobs do not fit on the disk together.
//   - The disk stays bounded by the gap prunes: statfs, sampled through the whole sequence, never
//     reaches capacity, though the bytes pulled exceed it; every prepull and run succeeds.
//   - No image removal overlaps a lease: the daemon's own image delete/untag events (timeNano, from
//     GET /events since/until) against each run's lease interval (its "lease held" and "lease
//     released" log times: taken while holding, so inside the true interval), on the host clock.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, statfsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/docker/engine.js";
import { usageFromStatfs } from "../../src/prune/measure.js";
import { parseEventLine } from "../../src/watch/events.js";
import { apiTime, msToNano } from "../../src/watch/position.js";
import { bin, cli } from "../support/cli.js";
import {
  type Daemon,
  DOCKER_CLI,
  type LoopDisk,
  makeLoopDisk,
  type PushedImage,
  pushImage,
  type Registry,
  startDaemon,
  startRegistry,
  tempDir,
} from "../support/testbed.js";

const MiB = 1024 * 1024;
const APP_SIZE = 20 * MiB;
const APPS = 12;
const JOBS = 16;

let reg: Registry;
let loop: LoopDisk;
let d: Daemon;
let root: string;
const apps: PushedImage[] = [];
let db: PushedImage;
const started: ChildProcess[] = [];

const env = () => ({
  ...d.env,
  IMAGEKEEPER_STATE_DIR: path.join(root, "state"),
  IMAGEKEEPER_RUN_DIR: path.join(root, "run"),
  IMAGEKEEPER_CONFIG: path.join(root, "config.json"),
  IMAGEKEEPER_DOCKER: DOCKER_CLI,
  // JSON log lines: the lease times and the prune outcomes are read from them.
  IMAGEKEEPER_LOG_FORMAT: "json",
});

function recipe(j: number): string[] {
  const dir = path.join(root, `recipe${j}`);
  mkdirSync(dir, { recursive: true });
  const app = apps[j % APPS]!;
  writeFileSync(
    path.join(dir, "compose.yml"),
    `version: "3.8"\nservices:\n  app:\n    image: ${app.ref}\n  db:\n    image: ${db.ref}\n`,
  );
  writeFileSync(path.join(dir, "app.env"), `TYPE=gap${j % APPS}\nSTACK_NAME=app${j % APPS}_example_org\n`);
  return ["--recipe", dir, "--env-file", path.join(dir, "app.env")];
}

interface Run {
  child: ChildProcess;
  stderr: () => string;
  done: Promise<number | null>;
}

function startRun(j: number): Run {
  const app = apps[j % APPS]!;
  const child = spawn(
    process.execPath,
    [
      bin(),
      "run",
      "--",
      DOCKER_CLI,
      "run",
      "--rm",
      "--network",
      "none",
      app.ref,
      "/bin/busybox",
      "sleep",
      "15",
    ],
    { env: { ...process.env, ...env(), IMAGEKEEPER_LOG_LEVEL: "debug" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  started.push(child);
  let err = "";
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  child.stdout!.resume();
  return { child, stderr: () => err, done: new Promise((r) => child.on("close", (c) => r(c))) };
}

/** The times (ms) of one JSON log line whose msg is `msg`. */
const logTime = (stderr: string, msg: string): number | undefined => {
  for (const l of stderr.split("\n")) {
    if (!l.startsWith("{")) continue;
    const j = JSON.parse(l) as { msg?: string; time?: number };
    if (j.msg === msg) return j.time;
  }
  return undefined;
};

beforeAll(async () => {
  reg = await startRegistry();
  loop = makeLoopDisk(256);
  d = await startDaemon({ dataRoot: path.join(loop.dir, "docker") });
  root = tempDir("ikgap");
  mkdirSync(path.join(root, "run"));
  writeFileSync(
    path.join(root, "config.json"),
    JSON.stringify({
      prune: {
        highWatermarkPercent: 55,
        lowWatermarkPercent: 35,
        criticalWatermarkPercent: 95,
        // Short, so that images of jobs that ended a few seconds ago may go (and the running
        // job's, prepulled seconds ago, stay): the policy itself is the planner's business.
        minAge: "8s",
        // Likewise: no watch runs here to see a deploy, so an app's latest prepull would stay
        // reserved for the default 15m, longer than the whole sequence; the triggering prepull's
        // own images are reserved by the gap prune itself (PruneFacts.reserved).
        reservation: "8s",
        // Percentages only: the default minFree 4GiB / maxFree 8GiB would keep a 256 MiB disk
        // under pressure for good, and every prune insufficient.
        minFree: null,
        maxFree: null,
        gapWait: "2m",
      },
      lease: { wait: "3m" },
    }),
  );
  db = await pushImage(reg.host, "gap/db", "1", { sizeBytes: 4 * MiB });
  for (let i = 0; i < APPS; i++)
    apps.push(await pushImage(reg.host, `gap/app${i}`, "1", { sizeBytes: APP_SIZE }));
}, 900_000);

afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await d?.stop();
  loop?.unmount();
  await reg?.stop();
});

describe("gap prunes on a CI schedule", () => {
  it("keep the disk bounded, and no removal overlaps a lease", async () => {
    const usage = () => usageFromStatfs(loop.dir, statfsSync(loop.dir));
    const capacity = usage().usedBytes + usage().freeBytes;
    let peak = usage().usedBytes;
    const sampler = setInterval(() => {
      peak = Math.max(peak, usage().usedBytes);
    }, 50);
    const since = apiTime(msToNano(Date.now() - 1000));
    const runs: Run[] = [];
    const prepullErr: string[] = [];
    try {
      for (let j = 0; j < JOBS; j++) {
        const p = await cli(["prepull", ...recipe(j)], env());
        prepullErr.push(p.stderr);
        expect(p.code, `prepull ${j}: ${p.stderr}`).toBe(0);
        const r = startRun(j);
        runs.push(r);
        // The next job's prepull starts once this run holds its lease: leases back to back.
        await new Promise<void>((resolve, reject) => {
          const t = setInterval(() => {
            if (logTime(r.stderr(), "run lease held; starting the command") !== undefined) {
              clearInterval(t);
              resolve();
            } else if (r.child.exitCode !== null) {
              clearInterval(t);
              reject(new Error(`run ${j} ended before its lease: ${r.stderr()}`));
            }
          }, 20);
        });
      }
      const codes = await Promise.all(runs.map((r) => r.done));
      expect(codes).toEqual(runs.map(() => 0));
    } finally {
      clearInterval(sampler);
    }
    const until = apiTime(msToNano(Date.now() + 1000));

    // The daemon's removals, to the nanosecond.
    const removals: { action: string; at: bigint; id: string }[] = [];
    await new Engine({ socketPath: d.socket }).events(
      { since, until, filters: { type: ["image"], event: ["delete", "untag"] } },
      (line) => {
        const p = parseEventLine(line);
        if (p.ok) removals.push({ action: p.event.action, at: p.event.timeNano, id: p.event.actor });
      },
    );
    const leases = runs.map((r, j) => {
      const held = logTime(r.stderr(), "run lease held; starting the command");
      const released = logTime(r.stderr(), "run lease released");
      if (held === undefined || released === undefined)
        throw new Error(`run ${j}: no lease times in\n${r.stderr()}`);
      return { j, from: msToNano(held), to: msToNano(released) + 999_999n };
    });
    const overlaps = removals.flatMap((rm) =>
      leases
        .filter((l) => rm.at >= l.from && rm.at <= l.to)
        .map((l) => `${rm.action} ${rm.id} during run ${l.j}`),
    );
    // Some lease was live at almost every moment of the sequence.
    let gaps = 0n;
    const sorted = [...leases].sort((a, b) => (a.from < b.from ? -1 : 1));
    let end = sorted[0]!.to;
    for (const l of sorted.slice(1)) {
      if (l.from > end) gaps += l.from - end;
      if (l.to > end) end = l.to;
    }
    const span = end - sorted[0]!.from;
    // How close the removals came to a lease (the check is to the nanosecond, not "not today").
    const nearestMs = removals.length
      ? Math.min(
          ...removals.flatMap((rm) =>
            leases.map((l) => Number((rm.at < l.from ? l.from - rm.at : rm.at - l.to) / 1_000_000n)),
          ),
        )
      : null;
    const all = [...prepullErr, ...runs.map((r) => r.stderr())].join("\n");
    const gapPrunes = all
      .split("\n")
      .filter((l) => /"msg":"prune (pruned|insufficient) \(gap prune before/.test(l));
    const waited = all.split("\n").filter((l) => /live run\(s\) to end/.test(l));
    const pulledBytes = apps.reduce((n, a) => n + a.sizeBytes, db.sizeBytes);
    const figures = {
      jobs: JOBS,
      capacityMiB: Math.round(capacity / MiB),
      peakMiB: Math.round(peak / MiB),
      peakPercent: Math.round((peak / capacity) * 1000) / 10,
      distinctImagesMiB: Math.round(pulledBytes / MiB),
      gapPrunes: gapPrunes.length,
      drainsThatWaited: waited.length,
      removals: removals.filter((r) => r.action === "delete").length,
      untags: removals.filter((r) => r.action === "untag").length,
      leaseCoverPercent: Math.round((1 - Number(gaps) / Number(span)) * 1000) / 10,
      nearestRemovalToALeaseMs: nearestMs,
      overlaps: overlaps.length,
    };
    console.log(`gap prune e2e: ${JSON.stringify(figures)}`);
    expect(overlaps).toEqual([]);
    // The images do not fit together, yet the disk never filled: the gap prunes kept it bounded.
    expect(pulledBytes).toBeGreaterThan(capacity);
    expect(peak).toBeLessThan(capacity);
    expect(figures.removals).toBeGreaterThan(0);
    expect(gapPrunes.length).toBeGreaterThan(0);
    // Prunes happened while runs kept arriving: some had to wait for a live run to end.
    expect(waited.length).toBeGreaterThan(0);
  }, 1_200_000);
});
