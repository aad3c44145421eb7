// status: where usage stands by percentages and minFree/maxFree together, the image store's
// figures from a plan, and the prune timer from `systemctl show`.
import { describe, expect, it } from "vitest";
import { diskLevel } from "../../src/commands/status.js";
import { configSchema } from "../../src/config/schema.js";
import type { DiskUsage } from "../../src/prune/measure.js";
import type { PlannedImage, PrunePlan } from "../../src/prune/plan.js";
import { storeView } from "../../src/prune/store.js";
import { parseShow, showArgs } from "../../src/prune/timer.js";

const GiB = 1024 ** 3;
const disk = (totalGiB: number, freeGiB: number): DiskUsage => ({
  path: "/var/lib/docker",
  totalBytes: totalGiB * GiB,
  usedBytes: (totalGiB - freeGiB) * GiB,
  freeBytes: freeGiB * GiB,
  usedPercent: ((totalGiB - freeGiB) / totalGiB) * 100,
});
const prune = (p: Record<string, unknown>) =>
  configSchema.parse({
    prune: { lowWatermarkPercent: 70, highWatermarkPercent: 85, criticalWatermarkPercent: 95, ...p },
  }).prune;

describe("diskLevel", () => {
  const pct = prune({ minFree: null, maxFree: null });
  const abs = prune({ minFree: "4GiB", maxFree: "8GiB" });
  it.each([
    // percentages only (100 GiB disk)
    [pct, 100, 31, "below-low"], // 69% used
    [pct, 100, 30, "between"], // 70%: at the low watermark is not below it
    [pct, 100, 15.01, "between"], // 84.99%
    [pct, 100, 15, "above-high"], // 85%: at the high watermark
    [pct, 100, 5.01, "above-high"],
    [pct, 100, 5, "critical"], // 95%
    // minFree/maxFree on a small disk (20 GiB): the absolute thresholds are the stricter ones
    [abs, 20, 8, "below-low"], // 60% used, 8 GiB free: at maxFree
    [abs, 20, 7.99, "between"], // below maxFree, though 60% is below low
    [abs, 20, 4, "between"], // at minFree: not yet due
    [abs, 20, 3.99, "above-high"], // less than minFree, though 80% is below high
    [abs, 20, 1, "critical"], // 95%
    // on a big disk the percentages are the stricter ones
    [abs, 1000, 301, "below-low"],
    [abs, 1000, 300, "between"],
    [abs, 1000, 150, "above-high"],
  ] as const)("%#: %i GiB with %f free: %s", (cfg, total, free, level) => {
    expect(diskLevel(disk(total, free), cfg)).toBe(level);
  });
});

const img = (id: string, sizeGiB: number, phase: "dangling" | "tagged"): PlannedImage =>
  ({ id, ref: id, sizeBytes: sizeGiB * GiB, phase }) as PlannedImage;

function plan(removable: PlannedImage[], targetGiB: number): PrunePlan {
  return { removable, targetBytes: targetGiB * GiB } as PrunePlan;
}

describe("storeView", () => {
  const items = [
    img("d1", 0.5, "dangling"),
    img("t1", 1, "tagged"),
    img("t2", 2, "tagged"),
    img("t3", 3, "tagged"),
  ];
  it.each([
    // target 0: only the dangling ones
    [0, 1, 1, 0.5],
    // target within the dangling bytes: still every dangling image, no tagged one
    [0.4, 1, 1, 0.5],
    // just above the dangling bytes: one tagged
    [0.6, 1, 2, 1.5],
    // exactly reached by d1+t1: stops there
    [1.5, 1, 2, 1.5],
    [1.51, 1, 3, 3.5],
    // more than everything: all of it
    [100, 1, 4, 6.5],
    // chunks of 2: the second tagged comes with the first
    [0.6, 2, 3, 3.5],
  ])("target %f GiB, chunks of %i: %i image(s), %f GiB", (target, chunk, images, bytes) => {
    const v = storeView(plan(items, target), 9, 20 * GiB, disk(100, 60), chunk);
    expect(v.reclaimable).toEqual({ images, bytes: bytes * GiB });
    expect(v.removable).toEqual({ images: 4, bytes: 6.5 * GiB });
    expect(v.images).toBe(9);
  });
  it("what is not images: used bytes less the layers, never below zero; unknown without layers", () => {
    expect(storeView(plan([], 0), 3, 20 * GiB, disk(100, 60), 1).nonImageBytes).toBe(20 * GiB);
    expect(storeView(plan([], 0), 3, 50 * GiB, disk(100, 60), 1).nonImageBytes).toBe(0);
    const none = storeView(plan([], 0), 3, null, disk(100, 60), 1);
    expect([none.bytes, none.nonImageBytes]).toEqual([null, null]);
  });
});

describe("the prune timer from systemctl show", () => {
  it("asks for the unit's load state and its two timestamps", () => {
    expect(showArgs("imagekeeper-prune.timer")).toEqual([
      "show",
      "imagekeeper-prune.timer",
      "--no-pager",
      "-p",
      "LoadState,ActiveState,LastTriggerUSec,NextElapseUSecRealtime",
    ]);
  });
  it.each([
    [
      "LoadState=loaded\nActiveState=active\nLastTriggerUSec=Mon 2026-11-30 04:30:12 UTC\nNextElapseUSecRealtime=Tue 2026-12-01 04:30:00 UTC\n",
      { lastRun: "Mon 2026-11-30 04:30:12 UTC", nextRun: "Tue 2026-12-01 04:30:00 UTC" },
    ],
    [
      "LoadState=loaded\nActiveState=active\nLastTriggerUSec=n/a\nNextElapseUSecRealtime=\n",
      { lastRun: null, nextRun: null },
    ],
    ["LoadState=loaded\nLastTriggerUSec=0\n", { lastRun: null, nextRun: null }],
    ["LoadState=not-found\nActiveState=inactive\nLastTriggerUSec=n/a\n", null],
    ["", null],
  ])("%j", (out, want) => {
    const t = parseShow("imagekeeper-prune.timer", out);
    expect(t).toEqual(want === null ? null : { unit: "imagekeeper-prune.timer", ...want });
  });
});
