// status's disk level judges the disk as a prune does (measure.ts): the percentages and, when set,
// prune.minFree / prune.maxFree, the stricter winning on each side.
import { describe, expect, it } from "vitest";
import { diskLevel } from "../../src/commands/status.js";
import { configSchema } from "../../src/config/schema.js";
import type { DiskUsage } from "../../src/prune/measure.js";

// Capacity (used + available) of 100 bytes, so bytes and percents coincide.
const disk = (used: number): DiskUsage => ({
  path: "/d",
  totalBytes: 110,
  usedBytes: used,
  freeBytes: 100 - used,
  usedPercent: used,
});
const prune = (minFree: number | null, maxFree: number | null) =>
  configSchema.parse({
    prune: {
      lowWatermarkPercent: 85,
      highWatermarkPercent: 95,
      criticalWatermarkPercent: 98,
      minFree,
      maxFree,
    },
  }).prune;

describe("diskLevel", () => {
  it.each([
    // used, minFree, maxFree, level
    [98, null, null, "critical"],
    [97, null, null, "above-high"],
    [95, null, null, "above-high"],
    [94, null, null, "between"],
    [85, null, null, "between"],
    [84, null, null, "below-low"],
    // minFree decides pressure below the high watermark: 19 free < 20.
    [81, 20, 30, "above-high"],
    [80, 20, 30, "between"],
    // maxFree decides the target below the low watermark: 25 free < 30.
    [75, 20, 30, "between"],
    [70, 20, 30, "below-low"],
    // minFree alone is the target too: pressure and target meet at it.
    [79, 22, null, "above-high"],
    [78, 22, null, "below-low"],
    // The percentages still win where they are stricter.
    [95, 1, 2, "above-high"],
    [85, 1, 2, "between"],
  ] as const)("used %d, minFree %s, maxFree %s: %s", (used, minFree, maxFree, level) => {
    expect(diskLevel(disk(used), prune(minFree, maxFree))).toBe(level);
  });
});
