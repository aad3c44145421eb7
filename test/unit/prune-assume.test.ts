import { describe, expect, it } from "vitest";
import { atUsage } from "../../src/prune/assume.js";
import type { DiskUsage } from "../../src/prune/measure.js";

// 1000 bytes of capacity (used + available); 1100 total (root-reserved blocks).
const disk = (used: number): DiskUsage => ({
  path: "/d",
  totalBytes: 1100,
  usedBytes: used,
  freeBytes: 1000 - used,
  usedPercent: used / 10,
});

describe("atUsage", () => {
  it.each([
    [100, 90, 900, 100],
    [950, 50, 500, 500],
    [0, 100, 1000, 0],
    [500, 0, 0, 1000],
  ])("measured %d, assumed %d%%", (used, pct, u, f) => {
    const d = atUsage(disk(used), pct);
    expect(d.usedBytes).toBe(u);
    expect(d.freeBytes).toBe(f);
    expect(d.usedPercent).toBe(pct);
  });
});
