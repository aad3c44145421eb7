// `imagekeeper status` end to end against a private dockerd and registry: the config file and
// dirs in effect, the image store (images, layer bytes as the daemon counts them, what the policy
// could remove, what is not images), the thresholds with minFree/maxFree, and the prune timer:
// none on a host without systemd (this one), and read through `systemctl show` where a systemctl
// answers (a stand-in on PATH: no systemd manager runs here).
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusSchema } from "../../src/commands/status.js";
import { cli } from "../support/cli.js";
import { type Daemon, pushImage, type Registry, startDaemon, startRegistry } from "../support/testbed.js";

let reg: Registry;
let d: Daemon;
let work: string;
let sizes: number[];

beforeAll(async () => {
  reg = await startRegistry();
  d = await startDaemon();
  const pushed = await Promise.all([
    pushImage(reg.host, "coop/a", "1.0", { sizeBytes: 400_000 }),
    pushImage(reg.host, "coop/b", "1.0", { sizeBytes: 300_000 }),
  ]);
  sizes = pushed.map((p) => p.sizeBytes);
  for (const p of pushed) d.docker(["pull", p.ref]);
  work = mkdtempSync(path.join(tmpdir(), "ikstatus-"));
});

afterAll(async () => {
  await d?.stop();
  await reg?.stop();
});

function setup(name: string, config: Record<string, unknown>, extraEnv: Record<string, string> = {}) {
  const dir = path.join(work, name);
  mkdirSync(dir);
  const configFile = path.join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify(config));
  return {
    configFile,
    state: path.join(dir, "state"),
    run: path.join(dir, "run"),
    env: {
      ...d.env,
      IMAGEKEEPER_CONFIG: configFile,
      IMAGEKEEPER_STATE_DIR: path.join(dir, "state"),
      IMAGEKEEPER_RUN_DIR: path.join(dir, "run"),
      ...extraEnv,
    },
  };
}

describe("status against the real engine", () => {
  it("paths, the store and its reclaimable bytes, the thresholds with minFree/maxFree, no timer here", async () => {
    // Every image removable (no minimum age, no keep); pressure at 1%: a prune would take both.
    const s = setup("all", {
      prune: { highWatermarkPercent: 2, lowWatermarkPercent: 1, criticalWatermarkPercent: 100, minAge: 0 },
    });
    const r = await cli(["status", "--json"], s.env);
    expect(r.code, r.stderr).toBe(0);
    const st = statusSchema.parse(JSON.parse(r.stdout));
    expect(st.paths).toEqual({ config: s.configFile, stateDir: s.state, runDir: s.run });
    expect(st.disk.watermarks).toEqual({
      low: 1,
      high: 2,
      critical: 100,
      minFree: 4 * 1024 ** 3,
      maxFree: 8 * 1024 ** 3,
    });
    expect(st.disk.level).toBe("above-high");
    expect(st.store.images).toBe(2);
    // The daemon's layer total: both images' own layers plus the busybox layer they share, once.
    const own = sizes.reduce((n, x) => n + x, 0);
    expect(st.store.bytes).toBeGreaterThan(Math.max(...sizes));
    expect(st.store.bytes).toBeLessThan(own + 5_000_000);
    expect(st.store.removable.images).toBe(2);
    expect(st.store.reclaimable.images).toBe(2);
    expect(st.store.reclaimable.bytes).toBe(st.store.removable.bytes);
    // What is not images: the filesystem's used bytes less the layers.
    // usedPercent is used / (used + available) (reserved blocks left out), rounded to 0.01.
    const used = (st.disk.freeBytes * st.disk.usedPercent) / (100 - st.disk.usedPercent);
    expect(st.store.nonImageBytes).toBeGreaterThan(0);
    expect(Math.abs(st.store.nonImageBytes! + st.store.bytes! - used)).toBeLessThan(
      0.01 * st.disk.totalBytes,
    );
    // This machine has a systemctl but no systemd manager: no timer, not an error.
    expect(st.timer).toBeNull();

    const text = await cli(["status"], s.env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^config {3}${s.configFile}$`, "m"));
    expect(text.stdout).toMatch(/^store {4}2 image\(s\), [\d.]+ (KiB|MiB) of layers; /m);
    expect(text.stdout).toMatch(/a prune down to its target would remove 2 \(/);
    expect(text.stdout).toMatch(/minFree 4\.0 GiB, maxFree 8\.0 GiB$/m);
    expect(text.stdout).toMatch(/^timer {4}none /m);
  });

  it("the default policy: nothing young is removable, the level by minFree too", async () => {
    const s = setup("defaults", {});
    const st = statusSchema.parse(JSON.parse((await cli(["status", "--json"], s.env)).stdout));
    // Just pulled, first seen now: too young for prune.minAge (24h).
    expect(st.store.removable).toEqual({ images: 0, bytes: 0 });
    expect(st.store.reclaimable).toEqual({ images: 0, bytes: 0 });
    const expected =
      st.disk.usedPercent >= 98
        ? "critical"
        : st.disk.usedPercent >= 95 || st.disk.freeBytes < 4 * 1024 ** 3
          ? "above-high"
          : st.disk.usedPercent >= 85 || st.disk.freeBytes < 8 * 1024 ** 3
            ? "between"
            : "below-low";
    expect(st.disk.level).toBe(expected);
  });

  it("the prune timer's last and next run, through systemctl show", async () => {
    const bin = path.join(work, "bin");
    mkdirSync(bin);
    const argvFile = path.join(work, "systemctl.argv");
    // A stand-in for systemctl (no systemd manager runs here): prints what systemd 252 prints.
    writeFileSync(
      path.join(bin, "systemctl"),
      `#!/bin/sh\necho "$@" > ${argvFile}\nprintf 'LoadState=loaded\\nActiveState=active\\nLastTriggerUSec=Mon 2026-11-30 04:30:12 UTC\\nNextElapseUSecRealtime=Tue 2026-12-01 04:30:00 UTC\\n'\n`,
    );
    chmodSync(path.join(bin, "systemctl"), 0o755);
    const s = setup("timer", {}, { PATH: `${bin}:${process.env.PATH}` });
    const st = statusSchema.parse(JSON.parse((await cli(["status", "--json"], s.env)).stdout));
    expect(st.timer).toEqual({
      unit: "imagekeeper-prune.timer",
      lastRun: "Mon 2026-11-30 04:30:12 UTC",
      nextRun: "Tue 2026-12-01 04:30:00 UTC",
    });
  });
});
