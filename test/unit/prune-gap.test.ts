import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { gapPruneDecision, usedBytesAt } from "../../src/prune/gap.js";
import type { DiskUsage } from "../../src/prune/measure.js";

const cfg = configSchema.parse({ prune: { highWatermarkPercent: 80, lowWatermarkPercent: 60 } }).prune;
// 1000 bytes of capacity (used + available) so percentages are byte counts / 10.
const disk = (used: number): DiskUsage => ({
  path: "/d",
  totalBytes: 1100,
  usedBytes: used,
  freeBytes: 1000 - used,
  usedPercent: used / 10,
});

describe("gapPruneDecision", () => {
  it.each([
    ["below high, nothing incoming", 799, 0, false],
    ["exactly at high", 800, 0, true],
    ["above high", 900, 0, true],
    ["incoming reaches high exactly", 700, 100, true],
    ["incoming stops one byte short", 700, 99, false],
    ["negative incoming counts as none", 799, -500, false],
  ])("%s", (_n, used, incoming, prune) => {
    expect(gapPruneDecision(disk(used), incoming, cfg).prune).toBe(prune);
  });

  it("says why", () => {
    expect(gapPruneDecision(disk(850), 0, cfg).reason).toBe(
      "usage 85% is at or above the high watermark (80%)",
    );
    expect(gapPruneDecision(disk(700), 150, cfg).reason).toMatch(
      /plus the 150 bytes about to be pulled reaches/,
    );
    expect(gapPruneDecision(disk(100), 0, cfg).reason).toMatch(/stays below/);
  });

  it("usedBytesAt measures against used + available, not the raw size (root-reserved blocks)", () => {
    expect(usedBytesAt(disk(0), 80)).toBe(800);
  });

  it("defaults: on, waiting up to 10 minutes", () => {
    const d = configSchema.parse({}).prune;
    expect(d.beforeRuns).toBe(true);
    expect(d.gapWait).toBe(600_000);
  });
});
