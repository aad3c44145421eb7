import { describe, expect, it } from "vitest";
import { atUsage, withIncoming } from "../../src/prune/assume.js";
import type { DiskUsage } from "../../src/prune/measure.js";

// 1000 bytes of capacity (used + available); 1100 total (root-reserved blocks).
const disk = (used: number): DiskUsage => ({
  path: "/d",
  totalBytes: 1100,
  usedBytes: used,
  freeBytes: 1000 - used,
  usedPercent: used / 10,
});

describe("withIncoming", () => {
  it.each([
    [600, 100, 700, 300, 70],
    [600, 0, 600, 400, 60],
    [600, -50, 600, 400, 60],
    [900, 300, 1200, 0, 120],
  ])("used %d + incoming %d", (used, incoming, u, f, pct) => {
    const d = withIncoming(disk(used), incoming);
    expect(d.usedBytes).toBe(u);
    expect(d.freeBytes).toBe(f);
    expect(d.usedPercent).toBeCloseTo(pct, 6);
    expect(d.totalBytes).toBe(1100);
  });
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
