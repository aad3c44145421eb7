// The prune policy end to end: the bundled CLI against a private dockerd whose data root is a
// loop-mounted 768 MiB ext4, filled from a private registry past the high watermark. Real
// containers (running and stopped), a real swarm service updated with `docker service update
// --image` (its rollback image is pulled by digest, so it is untagged: moby#31574), a real run
// lease, and the real filesystem measured by statfs. The ledger is written through the ledger's
// own functions with controlled timestamps, as prepull would have written it over past nights.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { statusSchema } from "../../src/commands/status.js";
import { usageFromStatfs } from "../../src/prune/measure.js";
import { type PruneResult, pruneResultSchema } from "../../src/prune/report.js";
import { updateLedger } from "../../src/state/ledger.js";
import { firstSeenAt, prepulled } from "../support/ledger-fixtures.js";
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
  waitFor,
} from "../support/testbed.js";

const bin = inject("imagekeeperBin");
const MiB = 1024 * 1024;
const DAY = 86_400_000;
const BIG = 20 * MiB;
const SMALL = 6 * MiB;

let reg: Registry;
let loop: LoopDisk;
let d: Daemon;
let root: string;
let stateDir: string;
let runDir: string;
let configFile: string;
let textfile: string;

/** Pushed and pulled images by role. */
const img: Record<string, PushedImage> = {};
const fillers: PushedImage[] = [];
const danglingOld: PushedImage[] = [];
let backgroundRun: ChildProcess | undefined;

interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...d.env,
    IMAGEKEEPER_STATE_DIR: stateDir,
    IMAGEKEEPER_RUN_DIR: runDir,
    IMAGEKEEPER_CONFIG: configFile,
    IMAGEKEEPER_DOCKER: DOCKER_CLI,
    IMAGEKEEPER_LOG_LEVEL: "info",
    // The assertions read each step's fields (id, step), which only the JSON lines carry in full.
    IMAGEKEEPER_LOG_FORMAT: "json",
    ...extra,
  };
}

function cli(args: string[], extra: Record<string, string> = {}): Cli {
  const r = spawnSync(process.execPath, ["--", bin, ...args], {
    env: env(extra),
    encoding: "utf8",
    timeout: 170_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function pruneJson(args: string[] = []): { result: PruneResult; stderr: string } {
  const r = cli(["prune", "--json", ...args]);
  if (r.code !== 0) throw new Error(`prune exited ${r.code}: ${r.stderr}`);
  return { result: pruneResultSchema.parse(JSON.parse(r.stdout)), stderr: r.stderr };
}

function writeConfig(prune: Record<string, unknown>): void {
  writeFileSync(
    configFile,
    JSON.stringify({
      // Percentages only: the default absolute thresholds (minFree 4GiB, maxFree 8GiB) would keep a
      // 768 MiB disk under pressure for good. beforeRuns off: the run lease started below must not
      // prune in the gap before it (that is test/integration/gap-prune.itg.test.ts's subject); these
      // tests are about the prune command.
      prune: {
        minAge: "1h",
        keep: ["*/keep/traefik:*"],
        chunkSize: 1,
        minFree: null,
        maxFree: null,
        beforeRuns: false,
        ...prune,
      },
      metrics: { textfile },
    }),
  );
}

const usedPercent = () => usageFromStatfs(loop.dir, statfsSync(loop.dir)).usedPercent;
const capacity = () => {
  const u = usageFromStatfs(loop.dir, statfsSync(loop.dir));
  return u.usedBytes + u.freeBytes;
};

function imageIds(): Set<string> {
  return new Set(d.docker(["image", "ls", "--no-trunc", "--format", "{{.ID}}"]).split("\n").filter(Boolean));
}

const present = (id: string) => imageIds().has(id);

function containersUsing(id: string): string[] {
  return d
    .docker(["ps", "-a", "--no-trunc", "--filter", `ancestor=${id}`, "--format", "{{.ID}}"])
    .split("\n")
    .filter(Boolean);
}

async function push(
  name: string,
  tag: string,
  sizeBytes: number,
  seed = `${name}:${tag}`,
): Promise<PushedImage> {
  return pushImage(reg.host, name, tag, { sizeBytes, seed });
}

function pull(ref: string): void {
  d.docker(["pull", "--quiet", ref]);
}

describe("imagekeeper prune on a real engine", () => {
  beforeAll(async () => {
    reg = await startRegistry();
    loop = makeLoopDisk(768);
    d = await startDaemon({ dataRoot: path.join(loop.dir, "docker") });
    root = tempDir("ikprune");
    stateDir = path.join(root, "state");
    runDir = path.join(root, "run");
    mkdirSync(runDir);
    configFile = path.join(root, "config.json");
    textfile = path.join(root, "textfile", "imagekeeper.prom");
    await d.swarmInit();

    // Protected images.
    img.running = await push("prot/running", "1", SMALL);
    pull(img.running.ref);
    d.docker(["run", "-d", "--network", "none", "--name", "running", img.running.ref]);
    img.stopped = await push("prot/stopped", "1", SMALL);
    pull(img.stopped.ref);
    d.docker(["run", "--network", "none", "--name", "stopped", img.stopped.ref, "/bin/busybox", "true"]);
    img.idle = await push("prot/idle", "1", SMALL);
    pull(img.idle.ref);
    d.docker(["service", "create", "--detach", "--replicas", "0", "--name", "idle", img.idle.ref]);
    img.keep = await push("keep/traefik", "v2", SMALL);
    pull(img.keep.ref);

    // A swarm service, updated: swarm pulls both by digest (untagged), the first stays in PreviousSpec.
    img.svc1 = await push("svc/app", "1", SMALL);
    img.svc2 = await push("svc/app", "2", SMALL);
    d.docker(["service", "create", "--detach", "--stop-grace-period", "1s", "--name", "web", img.svc1.ref]);
    await waitFor("web on svc/app:1", async () => containersUsing(img.svc1!.id).length > 0, 60_000);
    d.docker(["service", "update", "--detach", "--image", img.svc2.ref, "web"]);
    await waitFor(
      "web on svc/app:2",
      async () => d.docker(["ps", "--filter", `ancestor=${img.svc2!.id}`, "-q"]).trim() !== "",
      60_000,
    );
    // Drop the old task's container: from here on only the service's previous spec protects svc/app:1.
    for (const c of containersUsing(img.svc1.id)) d.docker(["rm", c]);
    expect(containersUsing(img.svc1.id)).toEqual([]);

    // Dangling: pull, then the tag moves to a new (tiny) image.
    for (const name of ["dang/a", "dang/b"]) {
      const old = await push(name, "1", BIG, `${name}-old`);
      pull(old.ref);
      danglingOld.push(old);
      await push(name, "1", 64 * 1024, `${name}-new`);
      pull(old.ref);
    }

    // Superseded: recipe alpha moved from sup/app:1 to sup/app:2.
    img.sup1 = await push("sup/app", "1", BIG);
    img.sup2 = await push("sup/app", "2", BIG);
    pull(img.sup1.ref);
    pull(img.sup2.ref);

    // Merely old: no ledger history, first seen 10 to 19 days ago.
    for (let i = 0; i < 8; i++) {
      const f = await push(`fill/f${i}`, "1", BIG);
      pull(f.ref);
      fillers.push(f);
    }
    img.fresh = await push("fresh/app", "1", 2 * MiB);

    // The ledger as past nights of prepull wrote it, and first sightings long ago.
    const now = Date.now();
    await updateLedger(stateDir, (l0) => {
      let l = l0;
      for (const days of [8, 7, 6, 5])
        l = prepulled(l, {
          at: new Date(now - days * DAY),
          recipe: "alpha",
          ref: null,
          images: [{ ref: img.sup1!.ref, id: img.sup1!.id }],
        });
      for (const days of [3, 2, 1])
        l = prepulled(l, {
          at: new Date(now - days * DAY),
          recipe: "alpha",
          ref: null,
          images: [{ ref: img.sup2!.ref, id: img.sup2!.id }],
        });
      const protectedIds = ["running", "stopped", "idle", "keep", "svc1", "svc2"].map((k) => img[k]!.id);
      l = firstSeenAt(l, protectedIds, new Date(now - 30 * DAY));
      l = firstSeenAt(
        l,
        danglingOld.map((x) => x.id),
        new Date(now - 20 * DAY),
      );
      fillers.forEach((f, i) => {
        l = firstSeenAt(l, [f.id], new Date(now - (10 + i) * DAY));
      });
      return l;
    });
  }, 900_000);

  afterAll(async () => {
    if (backgroundRun?.pid && backgroundRun.exitCode === null) backgroundRun.kill("SIGKILL");
    await d?.stop();
    loop?.unmount();
    await reg?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("exits 2 on a bad config and 3 when the daemon is unreachable", () => {
    writeConfig({ highWatermarkPercent: 50, lowWatermarkPercent: 60 });
    const bad = cli(["prune", "--json"]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: { kind: "config" } });
    writeConfig({});
    const down = cli(["prune"], { DOCKER_HOST: `unix://${root}/nothing.sock` });
    expect(down.code).toBe(3);
    expect(cli(["status"], { DOCKER_HOST: `unix://${root}/nothing.sock` }).code).toBe(3);
  });

  it("below the high watermark: no-pressure, nothing removed", () => {
    writeConfig({ highWatermarkPercent: 99, lowWatermarkPercent: 98, criticalWatermarkPercent: 100 });
    const before = imageIds();
    const { result } = pruneJson();
    expect(result.outcome).toBe("no-pressure");
    expect(result.removed).toEqual([]);
    expect(Math.abs(result.before.usedPercent - usedPercent())).toBeLessThan(1);
    expect(imageIds()).toEqual(before);
  });

  it("outside the window: above high but below critical does nothing; critical prunes anyway", () => {
    const u = usedPercent();
    const closedMinute = (new Date().getMinutes() + 30) % 60;
    const high = Math.floor(u) - 5;
    writeConfig({
      highWatermarkPercent: high,
      lowWatermarkPercent: high - 5,
      criticalWatermarkPercent: 99,
      window: `${closedMinute} * * * *`,
      windowDuration: "1m",
    });
    const before = imageIds();
    const { result } = pruneJson();
    expect(result.outcome).toBe("outside-window");
    expect(result.removed).toEqual([]);
    expect(imageIds()).toEqual(before);

    writeConfig({
      highWatermarkPercent: high,
      lowWatermarkPercent: high - 5,
      criticalWatermarkPercent: high,
      window: `${closedMinute} * * * *`,
      windowDuration: "1m",
    });
    const critical = pruneJson(["--dry-run"]).result;
    expect(["pruned", "insufficient"]).toContain(critical.outcome);
    expect(imageIds()).toEqual(before);
  });

  it("defers while a run lease is live, removes nothing; after SIGKILL of that run the next prune proceeds", async () => {
    const high = Math.floor(usedPercent()) - 5;
    writeConfig({ highWatermarkPercent: high, lowWatermarkPercent: high - 5, criticalWatermarkPercent: 99 });
    backgroundRun = spawn(process.execPath, ["--", bin, "run", "--", "sleep", "60"], {
      env: env(),
      stdio: "ignore",
    });
    await waitFor(
      "the run lease",
      async () => statusSchema.parse(JSON.parse(cli(["status", "--json"]).stdout)).leases.length === 1,
    );
    const before = imageIds();
    const { result, stderr } = pruneJson();
    expect(result.outcome).toBe("deferred");
    expect(result.removed).toEqual([]);
    expect(stderr).toMatch(/run lease/);
    expect(imageIds()).toEqual(before);
    const st = statusSchema.parse(JSON.parse(cli(["status", "--json"]).stdout));
    expect(st.lastPrune?.outcome).toBe("deferred");
    expect(st.consecutiveDeferrals).toBe(1);
    expect(st.leases[0]?.command).toMatch(/sleep 60/);

    // SIGKILL the run (and, for hygiene, the command it started, which is ours too).
    const runPid = backgroundRun.pid!;
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${runPid}/task/${runPid}/children`, "utf8")
        .trim()
        .split(/\s+/)
        .filter(Boolean);
    } catch {
      // no CONFIG_PROC_CHILDREN: the orphaned sleep ends by itself
    }
    const exited = new Promise((r) => backgroundRun!.once("exit", r));
    process.kill(runPid, "SIGKILL");
    await exited;
    for (const c of children) {
      try {
        process.kill(Number(c), "SIGKILL");
      } catch {
        // already gone
      }
    }
    const after = pruneJson(["--dry-run"]).result;
    expect(after.outcome).not.toBe("deferred");
  });

  let dryRun: PruneResult;
  let real: PruneResult;
  let realStderr: string;
  let lowCfg: number;

  it("--dry-run removes nothing", () => {
    pull(img.fresh!.ref); // pulled moments ago, never seen before
    const u = usedPercent();
    const step = (BIG / capacity()) * 100;
    // Low watermark half an image past the fifth removal: 2 dangling, 1 superseded, 2 old fillers.
    lowCfg = Math.floor((u - 4.5 * step) * 100) / 100;
    writeConfig({
      highWatermarkPercent: Math.floor(u) - 1,
      lowWatermarkPercent: lowCfg,
      criticalWatermarkPercent: 99,
    });
    const before = imageIds();
    const r = cli(["prune", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ORDER\s+ACTION\s+SIZE\s+LAST USE\s+IMAGE\s+REASON/);
    expect(r.stdout).toMatch(
      /service-rollback: named by the previous \(rollback\) spec of swarm service web/,
    );
    dryRun = pruneJson(["--dry-run"]).result;
    expect(dryRun.outcome).toBe("pruned");
    expect(dryRun.removed).toHaveLength(5);
    expect(imageIds()).toEqual(before);
  });

  it("prunes below the low watermark: dangling first, superseded before merely old, the protected survive", () => {
    const r = pruneJson();
    real = r.result;
    realStderr = r.stderr;
    expect(real.outcome).toBe("pruned");
    expect(real.after.usedPercent).toBeLessThanOrEqual(lowCfg);
    expect(usedPercent()).toBeLessThan(lowCfg);
    expect(real.after.freeBytes - real.before.freeBytes).toBeGreaterThan(4 * BIG);

    const removedIds = real.removed.map((x) => x.id);
    expect(new Set(removedIds.slice(0, 2))).toEqual(new Set(danglingOld.map((x) => x.id)));
    expect(real.removed[0]!.reason).toMatch(/^dangling \(#1\)/);
    // sup/app:1 was last used 5 days ago, the fillers 10+ days ago: LRU would take fillers first.
    expect(removedIds[2]).toBe(img.sup1!.id);
    expect(real.removed[2]!.reason).toMatch(/^superseded \(#3\): needed before by alpha/);
    // Then the oldest fillers.
    expect(removedIds.slice(3)).toEqual([fillers[7]!.id, fillers[6]!.id]);
    for (const x of removedIds) expect(present(x)).toBe(false);

    const kept = new Map(real.kept.map((k) => [k.id, k.reason]));
    const expectKept: [string, RegExp][] = [
      [img.running!.id, /^in-use: used by container running \(running\)/],
      [img.stopped!.id, /^in-use: used by container stopped \(exited\)/],
      [img.idle!.id, /^service: named by the spec of swarm service idle/],
      [img.svc1!.id, /^service-rollback: .*swarm service web/],
      [img.svc2!.id, /^in-use: used by container web\.1\./],
      [img.keep!.id, /^keep-pattern: .*keep\/traefik:v2 matches prune.keep pattern "\*\/keep\/traefik:\*"/],
      // Issue 8: minAge protects arrivals; an image with no use or arrival on record arrived, as far
      // as imagekeeper knows, when it first saw it.
      [img.fresh!.id, /^too-young: first seen by imagekeeper .* ago with no use or arrival on record/],
    ];
    for (const [id, reason] of expectKept) {
      expect(present(id)).toBe(true);
      expect(kept.get(id)).toMatch(reason);
    }
    // Each removal step is logged with its reason; the dangling step avoided `docker image prune`
    // because it would have taken the untagged rollback image.
    expect(realStderr).toMatch(/docker image prune would also take protected untagged image\(s\)/);
    for (const x of real.removed) expect(realStderr).toContain(x.id);
    expect(realStderr).toMatch(/removing .*sup\/app:1.*superseded/);
  });

  it("the dry run's plan is what the prune then did", () => {
    expect(real.removed.map((x) => [x.id, x.reason.split(":")[0]])).toEqual(
      dryRun.removed.map((x) => [x.id, x.reason.split(":")[0]]),
    );
    const code = (r: string) => r.split(":")[0]!;
    const protectedOf = (res: PruneResult) =>
      res.kept
        .filter((k) => !k.reason.startsWith("not-needed"))
        .map((k) => `${k.id} ${code(k.reason)}`)
        .sort();
    expect(protectedOf(real)).toEqual(protectedOf(dryRun));
    expect(real.kept.filter((k) => k.reason.startsWith("not-needed")).map((k) => k.id)).toEqual(
      dryRun.kept.filter((k) => k.reason.startsWith("not-needed")).map((k) => k.id),
    );
  });

  it("status reports the last prune (measured bytes freed), no leases, the ledger; metrics are written", () => {
    const st = statusSchema.parse(JSON.parse(cli(["status", "--json"]).stdout));
    expect(st.lastPrune?.outcome).toBe("pruned");
    expect(st.lastPrune?.imagesRemoved).toBe(5);
    expect(st.lastPrune?.bytesFreed).toBe(real.after.freeBytes - real.before.freeBytes);
    expect(st.consecutiveDeferrals).toBe(0);
    expect(st.leases).toEqual([]);
    expect(st.ledger.needSets).toBe(1);
    expect(st.disk.path).toBe(path.join(loop.dir, "docker"));
    const text = cli(["status"]).stdout;
    expect(text).toMatch(/last removal run: pruned .* 5 image\(s\) removed/);

    const prom = readFileSync(textfile, "utf8");
    expect(prom).toMatch(/^imagekeeper_prune_runs_total\{outcome="pruned"\} 1$/m);
    expect(prom).toMatch(/^imagekeeper_prune_runs_total\{outcome="deferred"\} 1$/m);
    expect(prom).toMatch(/^imagekeeper_prune_deferrals_total 1$/m);
    expect(prom).toMatch(/^imagekeeper_prune_images_removed_total 5$/m);
    expect(prom).toMatch(/^imagekeeper_prune_freed_bytes_total [1-9]\d+$/m);
    expect(prom).toMatch(/^imagekeeper_disk_usage_ratio 0\.\d+$/m);
  });

  it("once the service is gone, its untagged images go in the dangling step by docker image prune", async () => {
    d.docker(["service", "rm", "web"]);
    await waitFor("web's containers to go", async () => containersUsing(img.svc2!.id).length === 0, 60_000);
    // Pressure just above the watermark; the two service images (SMALL each) are enough to fix it.
    const u = usedPercent();
    writeConfig({
      highWatermarkPercent: Math.floor((u - 0.05) * 100) / 100,
      lowWatermarkPercent: Math.floor((u - ((1.5 * SMALL) / capacity()) * 100) * 100) / 100,
    });
    const { result, stderr } = pruneJson();
    expect(result.outcome).toBe("pruned");
    expect(new Set(result.removed.map((x) => x.id))).toEqual(new Set([img.svc1!.id, img.svc2!.id]));
    expect(stderr).toMatch(/removing dangling images older than prune.minAge/);
    expect(stderr).not.toMatch(/one by one/);
    expect(present(img.idle!.id)).toBe(true);
  });

  it("a damaged state: reported, rebuilt, and no aggressive prune", () => {
    writeFileSync(path.join(stateDir, "ledger.json"), "{ this is not json");
    writeFileSync(path.join(stateDir, "last-prune.json"), '{"version": 7}');
    const st = statusSchema.parse(JSON.parse(cli(["status", "--json"]).stdout));
    expect(st.problems.join("\n")).toMatch(/ledger\.json is not valid JSON/);
    expect(st.problems.join("\n")).toMatch(/last-prune\.json does not match its schema/);

    const u = usedPercent();
    writeConfig({ highWatermarkPercent: Math.floor(u) - 1, lowWatermarkPercent: Math.floor(u) - 20 });
    const before = imageIds();
    const { result, stderr } = pruneJson();
    // The remaining old fillers would be removable with the ledger; without it they are first seen now.
    expect(result.outcome).toBe("insufficient");
    expect(result.removed).toEqual([]);
    expect(imageIds()).toEqual(before);
    for (const f of fillers.slice(0, 6))
      expect(result.kept.find((k) => k.id === f.id)?.reason).toMatch(/^too-young/);
    expect(stderr).toMatch(/set aside and rebuilt/);
    expect(stderr).toMatch(/last-prune state file was damaged/);
    expect(readdirSync(stateDir).some((f) => f.startsWith("ledger.json.damaged-"))).toBe(true);
    expect(() => JSON.parse(readFileSync(path.join(stateDir, "ledger.json"), "utf8"))).not.toThrow();
    const after = statusSchema.parse(JSON.parse(cli(["status", "--json"]).stdout));
    expect(after.problems).toEqual([]);
    expect(after.lastPrune?.outcome).toBe("insufficient");
    expect(after.lastPrune?.blocked?.find((b) => b.code === "too-young")?.images).toBeGreaterThanOrEqual(6);
    expect(existsSync(textfile)).toBe(true);
  });

  it("a missing state dir: nothing removed either", () => {
    rmSync(stateDir, { recursive: true, force: true });
    const before = imageIds();
    const { result } = pruneJson();
    expect(result.outcome).toBe("insufficient");
    expect(result.removed).toEqual([]);
    expect(imageIds()).toEqual(before);
    expect(statusSchema.parse(JSON.parse(cli(["status", "--json"]).stdout)).lastPrune?.outcome).toBe(
      "insufficient",
    );
  });

  it("a removal docker refuses is logged and skipped, never forced", async () => {
    // A child image built FROM an old filler: docker refuses to delete the parent without force.
    const parent = fillers[0]!;
    const ctxDir = path.join(root, "child");
    mkdirSync(ctxDir);
    writeFileSync(path.join(ctxDir, "Dockerfile"), `FROM ${parent.ref}\nLABEL imagekeeper.test=child\n`);
    d.docker(["build", "--quiet", "--network", "none", "-t", "child/app:1", ctxDir], {
      env: { DOCKER_BUILDKIT: "0" },
    });
    await updateLedger(stateDir, (l) => {
      const next = structuredClone(l);
      const e = next.images[parent.id];
      if (e) e.firstSeen = Date.now() - 30 * DAY;
      return e ? next : firstSeenAt(l, [parent.id], new Date(Date.now() - 30 * DAY));
    });
    const u = usedPercent();
    writeConfig({ highWatermarkPercent: Math.floor(u) - 1, lowWatermarkPercent: Math.floor(u) - 20 });
    const { result, stderr } = pruneJson();
    expect(result.outcome).toBe("insufficient");
    expect(result.removed).toEqual([]);
    expect(result.kept.find((k) => k.id === parent.id)?.reason).toMatch(
      /^skipped \(#1, lru\): refused by docker: .*dependent child images/,
    );
    expect(stderr).toMatch(/"step":"refused"/);
    expect(present(parent.id)).toBe(true);
  });
});
