import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { gapPruneDecision, usedBytesAt } from "../../src/prune/gap.js";
import { bytesToTarget, type DiskUsage, reachedTarget, underPressure } from "../../src/prune/measure.js";

const cfg = configSchema.parse({
  prune: { highWatermarkPercent: 80, lowWatermarkPercent: 60, minFree: null, maxFree: null },
}).prune;
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

  it("says exactly why, at the boundaries, with minFree off", () => {
    // minFree null: no minFree clause anywhere.
    expect(gapPruneDecision(disk(100), 0, cfg).reason).toBe("usage 10% stays below the high watermark (80%)");
    // Reaching the high watermark exactly with the incoming bytes is "reaches", not "leaves less".
    expect(gapPruneDecision(disk(700), 100, cfg).reason).toBe(
      "usage 70% plus the 100 bytes about to be pulled reaches the high watermark (80%)",
    );
  });

  it("usedBytesAt measures against used + available, not the raw size (root-reserved blocks)", () => {
    expect(usedBytesAt(disk(0), 80)).toBe(800);
  });

  it("defaults (tuned in the simulator, docs/performance.md)", () => {
    const d = configSchema.parse({}).prune;
    expect({
      beforeRuns: d.beforeRuns,
      gapWait: d.gapWait,
      high: d.highWatermarkPercent,
      low: d.lowWatermarkPercent,
      critical: d.criticalWatermarkPercent,
      minFree: d.minFree,
      maxFree: d.maxFree,
      minAge: d.minAge,
      reservation: d.reservation,
    }).toEqual({
      beforeRuns: true,
      gapWait: 15 * 60_000,
      high: 95,
      low: 85,
      critical: 98,
      minFree: 4 * 1024 ** 3,
      maxFree: 8 * 1024 ** 3,
      minAge: 24 * 3_600_000,
      reservation: 15 * 60_000,
    });
  });
});

describe("absolute thresholds: prune.minFree / prune.maxFree (nix.conf's min-free/max-free)", () => {
  // 1000 bytes of capacity; percentages high 80 / low 60; minFree 300 is stricter than high (200
  // free at 80%), maxFree 450 stricter than low (400 free at 60%).
  const t = (minFree: number | null, maxFree: number | null) => ({
    highWatermarkPercent: 80,
    lowWatermarkPercent: 60,
    minFree,
    maxFree,
  });

  it.each([
    ["percent only: below high", t(null, null), 799, 0, false],
    ["percent only: at high", t(null, null), 800, 0, true],
    ["minFree: exactly minFree free is not pressure", t(300, null), 700, 0, false],
    ["minFree: one byte less free is", t(300, null), 701, 0, true],
    ["minFree: incoming counts", t(300, null), 600, 101, true],
    ["minFree: incoming one byte short", t(300, null), 600, 100, false],
    ["minFree looser than high: high still applies", t(100, null), 800, 0, true],
    ["negative incoming counts as none", t(300, null), 700, -50, false],
  ])("underPressure: %s", (_n, th, used, incoming, expected) => {
    expect(underPressure(disk(used), th, incoming)).toBe(expected);
  });

  it.each([
    ["percent only: one byte below low", t(null, null), 599, 0, true],
    ["percent only: at low", t(null, null), 600, 0, false],
    ["maxFree: exactly maxFree free", t(null, 450), 550, 0, true],
    ["maxFree: one byte short", t(null, 450), 551, 0, false],
    ["minFree alone is the target when maxFree is unset", t(450, null), 551, 0, false],
    ["minFree alone: reached", t(450, null), 550, 0, true],
    ["maxFree looser than low: low still applies", t(null, 100), 600, 0, false],
    ["incoming must fit too", t(null, 450), 500, 51, false],
    ["incoming fits", t(null, 450), 500, 50, true],
  ])("reachedTarget: %s", (_n, th, used, incoming, expected) => {
    expect(reachedTarget(disk(used), th, incoming)).toBe(expected);
  });

  it.each([
    ["percent only", t(null, null), 900, 0, 301],
    ["maxFree stricter", t(null, 450), 900, 0, 350],
    ["with incoming", t(null, 450), 900, 100, 450],
    ["already there", t(null, 450), 500, 0, 0],
    ["percent stricter than maxFree", t(null, 100), 900, 0, 301],
  ])("bytesToTarget: %s", (_n, th, used, incoming, bytes) => {
    const n = bytesToTarget(disk(used), th, incoming);
    expect(n).toBe(bytes);
    // Freeing exactly that reaches the target; one byte less does not.
    if (n > 0) {
      expect(reachedTarget(disk(used - n), th, incoming)).toBe(true);
      expect(reachedTarget(disk(used - n + 1), th, incoming)).toBe(false);
    }
  });

  it("gapPruneDecision honours minFree and says so", () => {
    const c = configSchema.parse({
      prune: { highWatermarkPercent: 80, lowWatermarkPercent: 60, minFree: 300, maxFree: 450 },
    }).prune;
    expect(gapPruneDecision(disk(701), 0, c)).toEqual({
      prune: true,
      reason: "299 B free is less than prune.minFree (300 B)",
    });
    expect(gapPruneDecision(disk(600), 150, c).reason).toBe(
      "usage 60% plus the 150 bytes about to be pulled leaves less than prune.minFree (300 B) free",
    );
    expect(gapPruneDecision(disk(600), 0, c)).toEqual({
      prune: false,
      reason: "usage 60% stays below the high watermark (80%) and keeps prune.minFree (300 B) free",
    });
  });

  it("config: sizes parse, null turns them off, maxFree below minFree is refused", () => {
    const c = configSchema.parse({ prune: { minFree: "2GiB", maxFree: "10GiB" } }).prune;
    expect([c.minFree, c.maxFree]).toEqual([2 * 1024 ** 3, 10 * 1024 ** 3]);
    const off = configSchema.parse({ prune: { minFree: null, maxFree: null } }).prune;
    expect([off.minFree, off.maxFree]).toEqual([null, null]);
    expect(configSchema.safeParse({ prune: { minFree: "10GiB", maxFree: "2GiB" } }).success).toBe(false);
    expect(configSchema.safeParse({ prune: { minFree: "10GiB", maxFree: "10GiB" } }).success).toBe(true);
    expect(configSchema.safeParse({ prune: { minFree: "lots" } }).success).toBe(false);
  });
});
