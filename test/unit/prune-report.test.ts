import { describe, expect, it } from "vitest";
import { renderStatus, type Status } from "../../src/commands/status.js";
import { configSchema } from "../../src/config/schema.js";
import type { ExecutionResult } from "../../src/prune/execute.js";
import type { DiskUsage } from "../../src/prune/measure.js";
import { type ImageFact, planPrune } from "../../src/prune/plan.js";
import { dryRunResultOf, pruneResultSchema, renderPlan, resultOf } from "../../src/prune/report.js";
import { ALWAYS_OPEN } from "../../src/prune/window.js";
import { firstSeenAt } from "../support/ledger-fixtures.js";
import { emptyLedger } from "../../src/state/ledger.js";

const MiB = 1024 * 1024;
const NOW = new Date("2025-03-01T12:00:00Z");
const cfg = configSchema.parse({
  prune: {
    highWatermarkPercent: 85,
    lowWatermarkPercent: 70,
    criticalWatermarkPercent: 95,
    minFree: null,
    maxFree: null,
  },
}).prune;
const W = { low: 70, high: 85, critical: 95 };
const cap = 1000 * MiB;
const disk = (pct: number): DiskUsage => ({
  path: "/var/lib/docker",
  totalBytes: cap,
  usedBytes: (cap * pct) / 100,
  freeBytes: cap - (cap * pct) / 100,
  usedPercent: pct,
});
const image = (i: number, tag: string | null): ImageFact => ({
  id: `sha256:${String(i).repeat(64).slice(0, 64)}`,
  repoTags: tag ? [tag] : [],
  repoDigests: [],
  sizeBytes: 100 * MiB,
  createdMs: 0,
  lastTagTimeMs: null,
});
const images = [image(1, null), image(2, "a:1"), image(3, "b:1"), image(4, "c:1"), image(5, "kept:1")];
let ledger = emptyLedger();
for (const i of images.slice(0, 4))
  ledger = firstSeenAt(ledger, [i.id], new Date(NOW.getTime() - (10 + Number(i.id.at(-1))) * 86_400_000));
const plan = planPrune(
  {
    now: NOW,
    disk: disk(90),
    images,
    containers: [],
    services: [],
    ledger,
    window: ALWAYS_OPEN,
    leases: [],
  },
  cfg,
);

describe("prune --json documents", () => {
  it("dry run: the expected removals, the rest kept, every image once, schema-valid", () => {
    const r = dryRunResultOf(plan);
    expect(pruneResultSchema.safeParse(r).success).toBe(true);
    expect(r.outcome).toBe("pruned");
    expect(r.removed.map((x) => x.reason.split(" ")[0])).toEqual(["dangling", "lru", "lru"]);
    expect(r.kept.map((x) => x.reason.split(" ")[0])).toEqual(["too-young:", "not-needed"]);
    expect(r.kept[1]!.reason).toMatch(
      /^not-needed \(#4, lru\): expected to reach the target \(below the low watermark, maxFree free\) before its turn;/,
    );
    expect(r.after.usedPercent).toBe(60);
    expect(Object.keys(r)).toEqual(["outcome", "before", "after", "removed", "kept"]);
  });

  it("real prune: removed, skipped and not needed are all accounted for", () => {
    const [d, a, b, c] = plan.removable;
    const exec: ExecutionResult = {
      outcome: "pruned",
      after: disk(69),
      freedBytes: 210 * MiB,
      removed: [
        { image: d!, measuredFreedBytes: 100 * MiB },
        { image: b!, measuredFreedBytes: 100 * MiB },
      ],
      skipped: [{ image: a!, why: "in use now: used by container x (created)" }],
      notNeeded: [c!],
    };
    const r = resultOf("pruned", disk(90), disk(69), plan, exec);
    expect(r.removed.map((x) => [x.ref, x.id.slice(7, 8), x.reason.split(":")[0]])).toEqual([
      ["<none>:<none>", "1", "dangling (#1)"],
      ["b:1", "3", "lru (#3)"],
    ]);
    expect(r.kept.find((x) => x.reason.startsWith("skipped"))).toEqual({
      ref: "c:1",
      id: images[3]!.id,
      reason: "skipped (#2, lru): in use now: used by container x (created)",
    });
    expect(r.kept.map((x) => x.reason.split(" ")[0])).toEqual(["too-young:", "skipped", "not-needed"]);
    expect(r.removed.length + r.kept.length).toBe(images.length);
  });

  it("a prune stopped at its gate lists nothing", () => {
    const r = resultOf("deferred", disk(90), disk(90), null, null);
    expect(r).toEqual({
      outcome: "deferred",
      before: { usedPercent: 90, freeBytes: 100 * MiB },
      after: { usedPercent: 90, freeBytes: 100 * MiB },
      removed: [],
      kept: [],
    });
  });
});

describe("renderPlan", () => {
  it("one row per image: order, action, size, last use, names, reason", () => {
    const text = renderPlan(plan, W, NOW);
    const rows = text.split("\n").filter((l) => /^(\d+|-)\s+(remove|removable|keep)\s/.test(l));
    expect(rows).toHaveLength(images.length);
    expect(rows[0]).toMatch(
      /^1\s+remove\s+100\.0 MiB\s+2025-02-18 12:00 \(11d0h ago, first-seen\)\s+<none>:<none>\s+dangling:/,
    );
    expect(rows[3]).toMatch(/^4\s+removable\s/);
    expect(rows[4]).toMatch(/^-\s+keep\s.*kept:1\s+too-young: first seen by imagekeeper 0ms ago/);
    expect(text).toMatch(/expected removals: 3 of 4 removable image\(s\)/);
  });
});

describe("renderPlan: the target with absolute thresholds", () => {
  it.each([
    [null, null, /^ {2}target free \S+ \S+ to get below \d+%$/m, /critical \d+%\)$/m],
    [4 * 1024 * MiB, null, /to get below \d+% with 4\.0 GiB free$/m, /; minFree 4\.0 GiB\)$/m],
    [
      4 * 1024 * MiB,
      8 * 1024 * MiB,
      /to get below \d+% with 8\.0 GiB free$/m,
      /; minFree 4\.0 GiB, maxFree 8\.0 GiB\)$/m,
    ],
  ])("minFree %s, maxFree %s", (minFree, maxFree, target, disk) => {
    const text = renderPlan(plan, { ...W, minFree, maxFree }, NOW);
    expect(text).toMatch(target);
    expect(text).toMatch(disk);
  });

  it("says the room it makes for incoming bytes", () => {
    const text = renderPlan({ ...plan, incomingBytes: 300 * MiB }, W, NOW);
    expect(text).toMatch(/to get below \d+%, with room for 300\.0 MiB incoming$/m);
  });
});

describe("renderStatus", () => {
  it("says where usage stands, who holds leases, what the last prune did", () => {
    const s: Status = {
      disk: {
        path: "/var/lib/docker",
        usedPercent: 87.2,
        freeBytes: 6 * 1024 * MiB,
        totalBytes: 48 * 1024 * MiB,
        watermarks: { ...W, minFree: null, maxFree: null },
        level: "above-high",
      },
      leases: [
        {
          id: "run-1",
          pid: 42,
          command: "abra app deploy x",
          since: "2025-03-01T11:46:00.000Z",
          kind: "run",
        },
      ],
      lastPrune: {
        at: "2025-03-01T11:58:00.000Z",
        outcome: "deferred",
        reason: "1 run lease(s) live",
        before: { usedPercent: 87.2, freeBytes: 1 },
        after: { usedPercent: 87.2, freeBytes: 1 },
        bytesFreed: 0,
        imagesRemoved: 0,
      },
      lastCompletedPrune: {
        at: "2025-02-28T12:00:00.000Z",
        outcome: "pruned",
        reason: "below low",
        before: { usedPercent: 86, freeBytes: 1 },
        after: { usedPercent: 69, freeBytes: 1 },
        bytesFreed: 3 * 1024 * MiB,
        imagesRemoved: 7,
      },
      consecutiveDeferrals: 3,
      ledger: { images: 12, needSets: 3 },
      window: {
        cron: "30 4 * * *",
        durationMs: 7_200_000,
        open: false,
        closesAt: null,
        nextOpen: "2025-03-02T04:30:00.000Z",
      },
      quota: [],
      watch: { running: true, connected: true, lastEventAt: "2025-03-01T11:59:30.000Z", reconciledAt: null },
      problems: [],
    };
    const t = renderStatus(s, NOW);
    expect(t).toMatch(/87\.2% used, 6\.0 GiB free of 48\.0 GiB/);
    expect(t).toMatch(/above the high watermark/);
    expect(t).toMatch(
      /run-1 {2}pid 42 {2}since 2025-03-01T11:46:00.000Z \(14m0s ago\) {2}run {2}abra app deploy x/,
    );
    expect(t).toMatch(/last: deferred 2m0s ago/);
    expect(t).toMatch(/last removal run: pruned 1d0h ago, freed 3\.0 GiB \(measured\), 7 image\(s\) removed/);
    expect(t).toMatch(/deferred 3 times in a row/);
    expect(t).toMatch(/window {3}"30 4 \* \* \*" for 2h0m: closed; next opens 2025-03-02T04:30:00.000Z/);
    expect(t).toMatch(/watch {4}running; last event 30\.0s ago \(2025-03-01T11:59:30.000Z\)/);
  });
});
