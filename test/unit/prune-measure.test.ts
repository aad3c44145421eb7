// The disk as a prune sees it: statfs numbers to used / free / Use% as df prints them, the bytes to
// free to drop below a percentage, and a failure to measure as a ToolError naming the directory.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ToolError } from "../../src/errors.js";
import {
  bytesToReach,
  type DiskUsage,
  measureDisk,
  roundPercent,
  usageFromStatfs,
} from "../../src/prune/measure.js";

describe("usageFromStatfs", () => {
  it("used = blocks − bfree; free = bavail (root-reserved excluded); Use% over used + available", () => {
    // 1000 blocks of 4 KiB: 300 free, of which 50 reserved for root (df: 700 used, 250 avail, 74%).
    const d = usageFromStatfs("/var/lib/docker", { bsize: 4096, blocks: 1000, bfree: 300, bavail: 250 });
    expect(d).toEqual({
      path: "/var/lib/docker",
      totalBytes: 4_096_000,
      usedBytes: 2_867_200,
      freeBytes: 1_024_000,
      usedPercent: (700 / 950) * 100,
    });
  });

  it.each([
    ["an empty filesystem", { bsize: 4096, blocks: 100, bfree: 100, bavail: 100 }, 0],
    ["a full one", { bsize: 4096, blocks: 100, bfree: 0, bavail: 0 }, 100],
    ["only root's reserve left", { bsize: 1024, blocks: 100, bfree: 5, bavail: 0 }, 100],
    ["no capacity at all (not NaN)", { bsize: 4096, blocks: 0, bfree: 0, bavail: 0 }, 0],
  ])("%s: %d%%", (_what, s, percent) => {
    expect(usageFromStatfs("/d", s).usedPercent).toBe(percent);
  });
});

describe("measureDisk", () => {
  it("measures a real directory's filesystem", async () => {
    const d = await measureDisk(tmpdir());
    expect(d.path).toBe(tmpdir());
    expect(d.totalBytes).toBeGreaterThan(0);
    expect(d.usedBytes + d.freeBytes).toBeLessThanOrEqual(d.totalBytes);
    expect(d.usedPercent).toBeGreaterThanOrEqual(0);
    expect(d.usedPercent).toBeLessThanOrEqual(100);
  });

  it("a directory it cannot stat is a ToolError naming it, with the fix", async () => {
    const missing = path.join(mkdtempSync(path.join(tmpdir(), "ik-measure-")), "nope");
    const e = await measureDisk(missing).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ToolError);
    expect((e as ToolError).message).toMatch(
      new RegExp(`^cannot measure the filesystem of Docker's root dir ${missing}: ENOENT`),
    );
    expect((e as ToolError).hint).toMatch(/^Run imagekeeper on the Docker host itself/);
  });
});

describe("bytesToReach: bytes to free so that usage drops below a percentage", () => {
  const disk = (used: number, free: number): DiskUsage => ({
    path: "/d",
    totalBytes: used + free,
    usedBytes: used,
    freeBytes: free,
    usedPercent: (used / (used + free)) * 100,
  });
  it.each([
    // capacity 1000, 80% = 800 bytes: below means 799.
    [900, 100, 80, 101],
    [800, 200, 80, 1],
    [799, 201, 80, 0],
    [100, 900, 80, 0],
    // capacity 1001: 80% = 800.8, so 800 is below and 801 is not.
    [801, 200, 80, 1],
    [800, 201, 80, 0],
    [1000, 0, 0, 1001],
  ])("used %d, free %d, below %d%% → %d", (used, free, percent, bytes) => {
    expect(bytesToReach(disk(used, free), percent)).toBe(bytes);
  });
});

describe("roundPercent: two decimals", () => {
  it.each([
    [73.68421, 73.68],
    [50.126, 50.13],
    [50.124, 50.12],
    [85, 85],
    [0.004, 0],
  ])("%d → %d", (p, want) => {
    expect(roundPercent(p)).toBe(want);
  });
});
