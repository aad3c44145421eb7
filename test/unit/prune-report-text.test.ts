// What `imagekeeper prune` prints, word for word: the --json document's entries for images a
// prune did not need (after a removal run, and when the gate stopped it), the --dry-run plan with
// its gate closed, at exactly 120 columns and when blocked, a removal line at the width where the
// name starts being cut, the summary line of an insufficient prune, and renderResult (the
// non-terminal summary) for each outcome. Plans are written out by hand, so each expectation here
// is the text a user reads, not something computed by the code under test.
import { describe, expect, it } from "vitest";
import type { DiskUsage } from "../../src/prune/measure.js";
import type { PlannedImage, PrunePlan } from "../../src/prune/plan.js";
import {
  dryRunResultOf,
  predictedAfter,
  removalLine,
  renderPlan,
  renderResult,
  resultOf,
  summaryLine,
} from "../../src/prune/report.js";

const MiB = 1024 * 1024;
const NOW = new Date("2025-03-01T12:00:00Z");
const W = { low: 70, high: 85, critical: 95 };
const disk = (usedMiB: number, freeMiB: number): DiskUsage => ({
  path: "/var/lib/docker",
  totalBytes: (usedMiB + freeMiB) * MiB,
  usedBytes: usedMiB * MiB,
  freeBytes: freeMiB * MiB,
  usedPercent: (usedMiB / (usedMiB + freeMiB)) * 100,
});
const ID = (c: string) => `sha256:${c.repeat(64)}`;
const img = (p: Partial<PlannedImage> & Pick<PlannedImage, "ref" | "code">): PlannedImage => ({
  id: ID(p.ref[0]!),
  names: [p.ref],
  sizeBytes: 100 * MiB,
  lastUse: "2025-02-19T12:00:00.000Z",
  lastUseSource: "ledger",
  action: "remove",
  reason: "last used 10d0h ago",
  order: null,
  phase: "tagged",
  predictedNextUse: null,
  rmArgs: [p.ref],
  ...p,
});
const dangling = img({
  ref: "<none>:<none>",
  id: ID("d"),
  code: "dangling",
  order: 1,
  phase: "dangling",
  reason: "untagged",
});
const aged = img({ ref: "app:1", code: "lru", order: 2 });
const other = img({ ref: "web:2", code: "lru", order: 3, names: ["web:2", "web:latest"] });
const young = img({
  ref: "new:1",
  code: "too-young",
  action: "keep",
  reason: "first seen 1h0m ago",
  sizeBytes: 300 * MiB,
});

const plan = (over: Partial<PrunePlan> = {}): PrunePlan => ({
  gate: { proceed: true, level: "routine", reason: "usage 90% is above the high watermark (85%)" },
  outcome: "pruned",
  before: disk(900, 100),
  targetBytes: 200 * MiB,
  incomingBytes: 0,
  removable: [dangling, aged, other],
  kept: [young],
  expectedRemovals: 2,
  dangling: { method: "image-prune", why: "every dangling image is removable" },
  ...over,
});
const closed = plan({
  gate: { proceed: false, outcome: "deferred", reason: "1 run lease(s) live" },
  outcome: "deferred",
});

describe("prune --json: images the prune did not need", () => {
  it("after a removal run: the target was reached before their turn", () => {
    const r = resultOf("pruned", disk(900, 100), disk(700, 300), plan(), {
      outcome: "pruned",
      after: disk(700, 300),
      freedBytes: 200 * MiB,
      removed: [{ image: dangling, measuredFreedBytes: 100 * MiB }],
      skipped: [{ image: aged, why: "in use now: used by container x (created)" }],
      notNeeded: [other],
    });
    expect(r.kept).toEqual([
      { ref: "new:1", id: ID("n"), reason: "too-young: first seen 1h0m ago" },
      { ref: "app:1", id: ID("a"), reason: "skipped (#2, lru): in use now: used by container x (created)" },
      {
        ref: "web:2",
        id: ID("w"),
        reason:
          "not-needed (#3, lru): the target (below the low watermark, maxFree free) was reached before its turn; last used 10d0h ago",
      },
    ]);
    expect(r.removed).toEqual([{ ref: "<none>:<none>", id: ID("d"), reason: "dangling (#1): untagged" }]);
  });

  it("a plan whose gate stopped the prune: every removable image kept, with the gate's reason", () => {
    const want = [
      { ref: "new:1", id: ID("n"), reason: "too-young: first seen 1h0m ago" },
      {
        ref: "<none>:<none>",
        id: ID("d"),
        reason: "not-needed (#1, dangling): nothing removed: 1 run lease(s) live; untagged",
      },
      {
        ref: "app:1",
        id: ID("a"),
        reason: "not-needed (#2, lru): nothing removed: 1 run lease(s) live; last used 10d0h ago",
      },
      {
        ref: "web:2",
        id: ID("w"),
        reason: "not-needed (#3, lru): nothing removed: 1 run lease(s) live; last used 10d0h ago",
      },
    ];
    const r = resultOf("deferred", disk(900, 100), disk(900, 100), closed, null);
    expect(r.removed).toEqual([]);
    expect(r.kept).toEqual(want);
    // The dry run of the same plan says the same.
    const d = dryRunResultOf({ ...closed, expectedRemovals: 0 });
    expect(d.removed).toEqual([]);
    expect(d.kept).toEqual(want);
    expect(d.after).toEqual({ usedPercent: 90, freeBytes: 100 * MiB });
  });
});

describe("predictedAfter: usage after removing bytes, by image sizes", () => {
  it.each([
    // used, free, removed bytes → used, free, percent
    [600, 400, 250, 350, 650, 35],
    [100, 900, 250, 0, 1000, 0], // more than is used: down to nothing, never negative
    [0, 0, 10, 0, 0, 0], // a filesystem of no capacity: 0%, not NaN
  ])("%i used + %i free, %i removed", (used, free, bytes, u, f, pct) => {
    const a = predictedAfter(disk(used, free), bytes * MiB);
    expect([a.usedBytes, a.freeBytes, a.usedPercent]).toEqual([u * MiB, f * MiB, pct]);
  });
});

describe("renderPlan", () => {
  it("a closed gate: no target, dangling step or expected removals, only the gate's reason", () => {
    expect(renderPlan({ ...closed, expectedRemovals: 0 }, W, NOW)).toBe(
      [
        "imagekeeper prune --dry-run: expected outcome deferred (nothing was changed)",
        "  disk   /var/lib/docker: 90% used, 100.0 MiB free (watermarks: low 70%, high 85%, critical 95%)",
        "  gate   1 run lease(s) live",
        "",
        "ORDER  ACTION     SIZE       LAST USE                              IMAGE              REASON",
        "1      removable  100.0 MiB  2025-02-19 12:00 (10d0h ago, ledger)  <none>:<none>      dangling: untagged",
        "2      removable  100.0 MiB  2025-02-19 12:00 (10d0h ago, ledger)  app:1              lru: last used 10d0h ago",
        "3      removable  100.0 MiB  2025-02-19 12:00 (10d0h ago, ledger)  web:2, web:latest  lru: last used 10d0h ago",
        "-      keep       300.0 MiB  2025-02-19 12:00 (10d0h ago, ledger)  new:1              too-young: first seen 1h0m ago",
        "",
      ].join("\n"),
    );
  });

  it("an open gate: the target, the dangling step and the expected removals", () => {
    const text = renderPlan(plan(), W, NOW);
    expect(text.split("\n").slice(0, 6)).toEqual([
      "imagekeeper prune --dry-run: expected outcome pruned (nothing was changed)",
      "  disk   /var/lib/docker: 90% used, 100.0 MiB free (watermarks: low 70%, high 85%, critical 95%)",
      "  gate   usage 90% is above the high watermark (85%)",
      "  target free 200.0 MiB to get below 70%",
      "  dangling step: image-prune (every dangling image is removable)",
      "  expected removals: 2 of 3 removable image(s)",
    ]);
  });

  it.each([
    [119, "10d0h ago, ledger"],
    [120, "2025-02-19 12:00 (10d0h ago, ledger)"],
  ])("at %i columns the last use reads %j", (cols, lastUse) => {
    const rows = renderPlan(plan(), W, NOW, cols)
      .split("\n")
      .filter((l) => l.startsWith("2 "));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(`  ${lastUse}  app:1`);
  });

  it("an insufficient plan ends with what blocked it", () => {
    const text = renderPlan(
      plan({ outcome: "insufficient", kept: [young, { ...young, ref: "new:2" }] }),
      W,
      NOW,
    );
    expect(text.endsWith("\n\nblocked: too-young: 2 image(s), 600.0 MiB\n")).toBe(true);
    expect(renderPlan(plan(), W, NOW)).not.toContain("blocked");
  });
});

describe("removalLine", () => {
  const r = (p: PlannedImage) => ({ image: p, measuredFreedBytes: p.sizeBytes, after: disk(800, 200) });
  const long = { ...aged, ref: "registry.example.org/some/app:1.2.3" };
  // The tail "  100.0 MiB  lru #2  → 80% used, 200.0 MiB free" takes 47 columns, "removed " 8, and
  // one column is left free: at 68 columns the name has exactly 12, at 67 only 11.
  it.each([
    [undefined, "removed registry.example.org/some/app:1.2.3  100.0 MiB  lru #2  → 80% used, 200.0 MiB free"],
    [68, "removed regist…1.2.3  100.0 MiB  lru #2  → 80% used, 200.0 MiB free"],
    // Too narrow to cut the name usefully: it is shown whole (the line wraps).
    [67, "removed registry.example.org/some/app:1.2.3  100.0 MiB  lru #2  → 80% used, 200.0 MiB free"],
    [40, "removed registry.example.org/some/app:1.2.3  100.0 MiB  lru #2  → 80% used, 200.0 MiB free"],
  ])("at %s columns", (cols, want) => {
    expect(removalLine(r(long), cols)).toBe(want);
  });

  it("an image with no place in the order shows its class alone", () => {
    expect(removalLine(r({ ...aged, order: null }))).toBe(
      "removed app:1  100.0 MiB  lru  → 80% used, 200.0 MiB free",
    );
  });
});

describe("summaryLine", () => {
  it("an insufficient prune says what it removed, as a pruned one does", () => {
    const r = resultOf("insufficient", disk(900, 100), disk(800, 200), plan(), null);
    expect(
      summaryLine({ ...r, removed: [r.kept[0]!] }, "2 image(s) kept", disk(900, 100), disk(800, 200)),
    ).toEqual([
      "prune insufficient: 1 image(s) removed, 100.0 MiB freed (measured), 90% → 80% used, 200.0 MiB free; 2 image(s) kept",
    ]);
  });
});

describe("renderResult", () => {
  const exec = (outcome: "pruned" | "insufficient") => ({
    outcome,
    after: disk(700, 300),
    freedBytes: 200 * MiB,
    removed: [
      { image: dangling, measuredFreedBytes: 100 * MiB },
      { image: other, measuredFreedBytes: 100 * MiB },
    ],
    skipped: [{ image: aged, why: "in use now: used by container x (created)" }],
    notNeeded: [],
  });

  it("a prune that removed images: before, after, freed, each removal and each skip", () => {
    const r = resultOf("pruned", disk(900, 100), disk(700, 300), plan(), exec("pruned"));
    expect(
      renderResult(r, "usage 70% is below the low watermark", disk(900, 100), disk(700, 300), W, plan()),
    ).toBe(
      [
        "imagekeeper prune: pruned: usage 70% is below the low watermark",
        "  before /var/lib/docker: 90% used, 100.0 MiB free (watermarks: low 70%, high 85%, critical 95%)",
        "  after  /var/lib/docker: 70% used, 300.0 MiB free (watermarks: low 70%, high 85%, critical 95%)",
        "  freed  200.0 MiB (measured), 2 image(s) removed",
        "  removed <none>:<none> dddddddddddd: dangling (#1): untagged",
        "  removed web:2 wwwwwwwwwwww: lru (#3): last used 10d0h ago",
        "  skipped app:1 aaaaaaaaaaaa: skipped (#2, lru): in use now: used by container x (created)",
        "",
      ].join("\n"),
    );
  });

  it("an insufficient prune also says what blocked it", () => {
    const r = resultOf("insufficient", disk(900, 100), disk(700, 300), plan(), exec("insufficient"));
    const text = renderResult(r, "3 image(s) kept", disk(900, 100), disk(700, 300), W, plan());
    expect(text.split("\n").slice(2, 4)).toEqual([
      "  after  /var/lib/docker: 70% used, 300.0 MiB free (watermarks: low 70%, high 85%, critical 95%)",
      "  freed  200.0 MiB (measured), 2 image(s) removed",
    ]);
    expect(text.endsWith("\n  blocked: too-young: 1 image(s), 300.0 MiB\n")).toBe(true);
    // Without a plan there is nothing to say about what blocked it.
    expect(renderResult(r, "3 image(s) kept", disk(900, 100), disk(700, 300), W, null)).not.toContain(
      "blocked",
    );
  });

  it("a prune stopped at its gate: the reason and the disk, nothing else", () => {
    const r = resultOf("deferred", disk(900, 100), disk(900, 100), closed, null);
    expect(renderResult(r, "1 run lease(s) live", disk(900, 100), disk(900, 100), W, closed)).toBe(
      "imagekeeper prune: deferred: 1 run lease(s) live\n" +
        "  before /var/lib/docker: 90% used, 100.0 MiB free (watermarks: low 70%, high 85%, critical 95%)\n",
    );
  });
});
