import { describe, expect, it } from "vitest";
import { renderStatus, type Status } from "../../src/commands/status.js";
import { configSchema } from "../../src/config/schema.js";
import type { ExecutionResult, Removed } from "../../src/prune/execute.js";
import type { DiskUsage } from "../../src/prune/measure.js";
import { type ImageFact, planPrune } from "../../src/prune/plan.js";
import {
  dryRunResultOf,
  pruneResultSchema,
  removalLine,
  renderPlan,
  resultOf,
  summaryLine,
} from "../../src/prune/report.js";
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
const planOf = () =>
  planPrune(
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
    const r = dryRunResultOf(planOf());
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
    const [d, a, b, c] = planOf().removable;
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
    const r = resultOf("pruned", disk(90), disk(69), planOf(), exec);
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
    const text = renderPlan(planOf(), W, NOW);
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
    const text = renderPlan(planOf(), { ...W, minFree, maxFree }, NOW);
    expect(text).toMatch(target);
    expect(text).toMatch(disk);
  });

  it("says the room it makes for incoming bytes", () => {
    const text = renderPlan({ ...planOf(), incomingBytes: 300 * MiB }, W, NOW);
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
        watermarks: { ...W, minFree: 4 * 1024 * MiB, maxFree: 8 * 1024 * MiB },
        level: "above-high",
      },
      paths: {
        config: "/etc/imagekeeper/config.json",
        stateDir: "/var/lib/imagekeeper",
        runDir: "/run/imagekeeper",
      },
      store: {
        images: 14,
        bytes: 30 * 1024 * MiB,
        removable: { images: 5, bytes: 9 * 1024 * MiB },
        reclaimable: { images: 3, bytes: 4 * 1024 * MiB },
        nonImageBytes: 12 * 1024 * MiB,
      },
      timer: {
        unit: "imagekeeper-prune.timer",
        lastRun: "Sat 2025-03-01 04:30:02 UTC",
        nextRun: "Sun 2025-03-02 04:30:00 UTC",
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
    expect(t).toMatch(
      /87\.2% used, 6\.0 GiB free of 48\.0 GiB; watermarks low 70%, high 85%, critical 95%; minFree 4\.0 GiB, maxFree 8\.0 GiB$/m,
    );
    expect(t).toMatch(/^config {3}\/etc\/imagekeeper\/config\.json$/m);
    expect(t).toMatch(/^dirs {5}state \/var\/lib\/imagekeeper, run \/run\/imagekeeper$/m);
    expect(t).toMatch(/^store {4}14 image\(s\), 30\.0 GiB of layers; 12\.0 GiB of the disk is not images /m);
    expect(t).toMatch(
      /removable under the policy: 5 image\(s\), 9\.0 GiB; a prune down to its target would remove 3 \(4\.0 GiB\)$/m,
    );
    expect(t).toMatch(
      /^timer {4}imagekeeper-prune\.timer: last ran Sat 2025-03-01 04:30:02 UTC; next Sun 2025-03-02 04:30:00 UTC$/m,
    );
    expect(renderStatus({ ...s, timer: null, paths: { ...s.paths, config: null } }, NOW)).toMatch(
      /^config {3}none \(all defaults\)$[\s\S]*^timer {4}none /m,
    );
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

describe("prune on a terminal: the --dry-run table fits, a line per removal, one summary", () => {
  const long = (i: number, tag: string): ImageFact => ({ ...image(i, tag), sizeBytes: 150 * MiB });
  const many = [
    image(1, null),
    long(2, "registry.example.org/coop-cloud/a-very-long-recipe-name/app:2024.11.30-build.7"),
    long(3, "nextcloud:30.0.2-fpm"),
    long(4, "postgres:16.4"),
    image(5, "kept:1"),
  ];
  let l2 = emptyLedger();
  for (const i of many.slice(0, 4))
    l2 = firstSeenAt(l2, [i.id], new Date(NOW.getTime() - (10 + Number(i.id.at(-1))) * 86_400_000));
  const wide = planPrune(
    {
      now: NOW,
      disk: disk(90),
      images: many,
      containers: [],
      services: [],
      ledger: l2,
      window: ALWAYS_OPEN,
      leases: [],
    },
    cfg,
  );
  const words = (s: string) => s.replace(/\s+/g, " ").trim();

  it.each([80, 100])("at %i columns every line fits, and each reason is whole under its row", (cols) => {
    const text = renderPlan(wide, W, NOW, cols);
    const lines = text.trimEnd().split("\n");
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(cols);
    expect(lines).toContain("ORDER  ACTION     SIZE       LAST USE               IMAGE");
    const rows = lines.filter((l) => /^(\d+|-)\s+(remove|removable|keep)\s/.test(l));
    expect(rows).toHaveLength(many.length);
    expect(rows[0]).toMatch(/^1 {6}remove {5}100\.0 MiB {2}11d0h ago, first-seen {2}<none>:<none>$/);
    // The long name is cut in the middle, keeping registry and tag.
    expect(rows.find((r) => r.includes("registry."))).toMatch(/registry\.\S*…\S*build\.7$/);
    // Each row's reason follows it, indented, wrapped, word for word.
    for (const p of [...wide.removable, ...wide.kept]) {
      const at = lines.findIndex((l) => l.includes(p.ref) || (p.ref.length > 30 && l.includes("…")));
      const under: string[] = [];
      for (let i = at + 1; i < lines.length && /^ {4}/.test(lines[i]!); i++) under.push(lines[i]!);
      expect(under[0]).toMatch(/^ {4}reason: /);
      expect(words(under.join(" "))).toBe(words(`reason: ${p.code}: ${p.reason}`));
    }
  });

  it("at 160 columns: a row per image with its date and reason in the row", () => {
    const lines = renderPlan(wide, W, NOW, 300).trimEnd().split("\n");
    const rows = lines.filter((l) => /^(\d+|-)\s+(remove|removable|keep)\s/.test(l));
    expect(rows[0]).toMatch(
      /^1\s+remove\s+100\.0 MiB\s+2025-02-18 12:00 \(11d0h ago, first-seen\)\s+<none>:<none>\s+dangling: /,
    );
    expect(lines.some((l) => l.startsWith("    reason:"))).toBe(false);
    const at160 = renderPlan(wide, W, NOW, 160).trimEnd().split("\n");
    for (const l of at160) expect(l.length).toBeLessThanOrEqual(160);
    expect(at160.filter((l) => /^(\d+|-)\s+(remove|removable|keep)\s/.test(l))[2]).toMatch(
      /^3 +removable +150\.0 MiB +2025-02-16 12:00 \(13d0h ago, first-seen\) +nextcloud:30\.0\.2-fpm$/,
    );
  });

  it("the header lines wrap under their label at 80 columns", () => {
    const lines = renderPlan(wide, W, NOW, 80).split("\n");
    const disk = lines.findIndex((l) => l.startsWith("  disk   "));
    expect(lines[disk]).toBe("  disk   /var/lib/docker: 90% used, 100.0 MiB free (watermarks: low 70%, high");
    expect(lines[disk + 1]).toBe("         85%, critical 95%)");
  });

  const removed = (i: number, pct: number | undefined): Removed => ({
    image: wide.removable.find((p) => p.id === many[i]!.id)!,
    measuredFreedBytes: 150 * MiB,
    ...(pct !== undefined ? { after: disk(pct) } : {}),
  });

  it.each([
    [
      160,
      1,
      "removed registry.example.org/coop-cloud/a-very-long-recipe-name/app:2024.11.30-build.7  150.0 MiB  lru #4  → 75% used, 250.0 MiB free",
    ],
    [80, 1, "removed registry.exa….30-build.7  150.0 MiB  lru #4  → 75% used, 250.0 MiB free"],
    [80, 2, "removed nextcloud:30.0.2-fpm  150.0 MiB  lru #3  → 75% used, 250.0 MiB free"],
  ])("a removal at %i columns (#%i)", (cols, i, text) => {
    const line = removalLine(removed(i, 75), cols);
    expect(line).toBe(text);
    expect(line.length).toBeLessThan(cols);
  });

  it("a dangling image docker image prune removed: no disk of its own", () => {
    expect(removalLine(removed(0, undefined))).toBe(
      "removed <none>:<none>  100.0 MiB  dangling #1  (by docker image prune)",
    );
  });

  it("one summary line: removals, measured bytes, usage before and after, the reason", () => {
    const r = resultOf("pruned", disk(90), disk(69), wide, null);
    const exec = { ...r, removed: [r.kept[0]!, r.kept[1]!] };
    expect(summaryLine(exec, "usage 69% is below the low watermark (70%)", disk(90), disk(69), 160)).toEqual([
      "prune pruned: 2 image(s) removed, 210.0 MiB freed (measured), 90% → 69% used, 310.0 MiB free; usage 69% is below the low watermark (70%)",
    ]);
    const at80 = summaryLine(exec, "usage 69% is below the low watermark (70%)", disk(90), disk(69), 80);
    expect(at80).toHaveLength(2);
    expect(at80[1]).toMatch(/^ {2}\S/);
    expect(
      summaryLine(
        { ...r, outcome: "no-pressure" },
        "usage 50% is below the high watermark",
        disk(50),
        disk(50),
      ),
    ).toEqual(["prune no-pressure; usage 50% is below the high watermark"]);
  });
});
