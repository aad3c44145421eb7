// The text examples in docs/ are what the renderers print: each is rebuilt here from a scene of
// plain data, through the same functions the commands call, at the width the docs show (80
// columns, a terminal), and compared line for line with the block in the docs.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderStatus, type Status, statusSchema } from "../../src/commands/status.js";
import { renderHistory } from "../../src/commands/history.js";
import { configSchema } from "../../src/config/schema.js";
import { type JournalEntry, journalEntrySchema } from "../../src/state/journal.js";
import { PLAIN } from "../../src/ui/terminal.js";
import { type DiskUsage, roundPercent } from "../../src/prune/measure.js";
import { type ImageFact, planPrune } from "../../src/prune/plan.js";
import { removalLine, renderPlan, resultOf, summaryLine } from "../../src/prune/report.js";
import { ALWAYS_OPEN } from "../../src/prune/window.js";
import { emptyLedger } from "../../src/state/ledger.js";
import { firstSeenAt, prepulled } from "../support/ledger-fixtures.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const DAY = 86_400_000;
const NOW = new Date("2025-03-01T11:40:00Z");
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

/** The ```-fenced block that follows `marker` in `file`, its lines. */
export function blockAfter(file: string, marker: string): string[] {
  const text = readFileSync(file, "utf8");
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${file} has no "${marker}"`);
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m) throw new Error(`${file}: no code block after "${marker}"`);
  return m[1]!.replace(/\n$/, "").split("\n");
}

const id = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const img = (n: number, tags: string[], sizeBytes: number, days: number): ImageFact => ({
  id: id(n),
  repoTags: tags,
  repoDigests: [],
  sizeBytes,
  createdMs: ago(days).getTime(),
  lastTagTimeMs: null,
});

/** A CI host's store under pressure, with the default thresholds and one keep pattern. */
function scene() {
  const cfg = configSchema.parse({ prune: { keep: ["traefik:*"] } }).prune;
  const images = [
    img(1, [], 312 * MiB, 18),
    img(2, ["git.example/app:1.4"], Math.round(2.1 * GiB), 30),
    img(3, ["git.example/app:1.5"], Math.round(2.1 * GiB), 2),
    img(
      4,
      ["registry.example.org/coop-cloud/nextcloud-with-a-long-name:30.0.2-fpm"],
      Math.round(2.9 * GiB),
      40,
    ),
    img(5, ["postgres:15.8"], Math.round(1.4 * GiB), 60),
    img(6, ["traefik:v2.11"], 140 * MiB, 90),
  ];
  let ledger = firstSeenAt(
    emptyLedger(),
    images.map((i) => i.id),
    ago(100),
  );
  ledger = prepulled(ledger, {
    at: ago(5),
    recipe: "app",
    ref: null,
    images: [{ ref: "git.example/app:1.4", id: id(2) }],
  });
  ledger = prepulled(ledger, {
    at: ago(1),
    recipe: "app",
    ref: null,
    images: [{ ref: "git.example/app:1.5", id: id(3) }],
  });
  const total = 40 * GiB;
  const free = Math.round(1.4 * GiB);
  const disk: DiskUsage = {
    path: "/var/lib/docker",
    totalBytes: total,
    usedBytes: total - free,
    freeBytes: free,
    usedPercent: ((total - free) / total) * 100,
  };
  const plan = planPrune(
    { now: NOW, disk, images, containers: [], services: [], ledger, window: ALWAYS_OPEN, leases: [] },
    cfg,
  );
  const w = {
    low: cfg.lowWatermarkPercent,
    high: cfg.highWatermarkPercent,
    critical: cfg.criticalWatermarkPercent,
    minFree: cfg.minFree,
    maxFree: cfg.maxFree,
  };
  return { plan, w, disk };
}

/** The disk after `bytes` more are free. */
const freed = (d: DiskUsage, bytes: number): DiskUsage => ({
  ...d,
  usedBytes: d.usedBytes - bytes,
  freeBytes: d.freeBytes + bytes,
  usedPercent: ((d.usedBytes - bytes) / d.totalBytes) * 100,
});

describe("docs/prune.md", () => {
  it("the --dry-run example is what a terminal of 80 columns shows", () => {
    const { plan, w } = scene();
    const text = renderPlan(plan, w, NOW, 80).trimEnd().split("\n");
    if (process.env.SHOW) console.log(text.join("\n"));
    expect(blockAfter("docs/prune.md", "prints the whole plan and changes nothing")).toEqual(text);
  });

  it("the real prune's lines are what a terminal of 80 columns shows", () => {
    const { plan, disk } = scene();
    const [dangling, superseded, lru] = plan.removable;
    const after1 = freed(disk, dangling!.sizeBytes + superseded!.sizeBytes);
    const after2 = freed(after1, lru!.sizeBytes);
    const exec = {
      outcome: "pruned" as const,
      after: after2,
      freedBytes: after2.freeBytes - disk.freeBytes,
      removed: [
        { image: dangling!, measuredFreedBytes: 0 },
        { image: superseded!, measuredFreedBytes: superseded!.sizeBytes, after: after1 },
        { image: lru!, measuredFreedBytes: lru!.sizeBytes, after: after2 },
      ],
      skipped: [],
      notNeeded: plan.removable.slice(3),
    };
    const result = resultOf("pruned", disk, after2, plan, exec);
    const text = [
      ...exec.removed.map((r) => removalLine(r, 80)),
      ...summaryLine(
        result,
        `usage ${roundPercent(after2.usedPercent)}% is below the low watermark (85%)`,
        disk,
        after2,
        80,
      ),
    ];
    if (process.env.SHOW) console.log(text.join("\n"));
    expect(blockAfter("docs/prune.md", "A real prune on a terminal")).toEqual(text);
  });
});

describe("docs/operations.md", () => {
  it("the status example is what renderStatus prints", () => {
    const at = (iso: string) => Date.parse(iso);
    const s: Status = {
      disk: {
        path: "/var/lib/docker",
        usedPercent: 95.8,
        freeBytes: Math.round(2.0 * GiB),
        totalBytes: 48 * GiB,
        watermarks: { low: 85, high: 95, critical: 98, minFree: 4 * GiB, maxFree: 8 * GiB },
        level: "above-high",
      },
      paths: {
        config: "/etc/imagekeeper/config.json",
        stateDir: "/var/lib/imagekeeper",
        runDir: "/run/imagekeeper",
      },
      store: {
        images: 57,
        bytes: Math.round(31.4 * GiB),
        removable: { images: 19, bytes: Math.round(9.6 * GiB) },
        reclaimable: { images: 6, bytes: Math.round(6.3 * GiB) },
        nonImageBytes: Math.round(12.6 * GiB),
      },
      timer: {
        unit: "imagekeeper-prune.timer",
        lastRun: "Sat 2025-03-01 04:30:02 UTC",
        nextRun: "Sun 2025-03-02 04:30:00 UTC",
      },
      leases: [
        {
          id: "run-6f1c2a",
          pid: 48213,
          command: "abra app deploy gitea.ci.example",
          since: "2025-03-01T11:26:11.000Z",
          kind: "run",
        },
      ],
      lastPrune: {
        at: "2025-03-01T11:38:00.000Z",
        outcome: "deferred",
        reason:
          "1 run lease(s) live (run-6f1c2a: pid 48213 abra app deploy gitea.ci.example): a prune never runs during a CI run",
        before: { usedPercent: 95.8, freeBytes: Math.round(2.0 * GiB) },
        after: { usedPercent: 95.8, freeBytes: Math.round(2.0 * GiB) },
        bytesFreed: 0,
        imagesRemoved: 0,
      },
      lastCompletedPrune: {
        at: "2025-02-28T04:30:05.000Z",
        outcome: "pruned",
        reason: "usage 83.1% is below the low watermark (85%)",
        before: { usedPercent: 96.2, freeBytes: Math.round(1.8 * GiB) },
        after: { usedPercent: 83.1, freeBytes: Math.round(8.1 * GiB) },
        bytesFreed: Math.round(6.3 * GiB),
        imagesRemoved: 7,
      },
      consecutiveDeferrals: 3,
      ledger: { images: 380, needSets: 41 },
      window: {
        cron: "30 4 * * *",
        durationMs: 7_200_000,
        open: false,
        closesAt: null,
        nextOpen: "2025-03-02T04:30:00.000Z",
      },
      quota: [
        {
          registry: "docker.io",
          at: at("2025-03-01T11:35:00.000Z"),
          endpoint: "registry-1.docker.io",
          limit: 100,
          remaining: 76,
          windowSeconds: 21600,
          resetBy: at("2025-03-01T17:35:00.000Z"),
          source: "192.0.2.44",
          pulledAfter: 2,
        },
      ],
      watch: {
        running: true,
        connected: true,
        lastEventAt: "2025-03-01T11:39:48.000Z",
        reconciledAt: "2025-03-01T06:12:00.000Z",
      },
      problems: [],
    };
    expect(statusSchema.parse(s)).toEqual(s);
    const text = renderStatus(s, NOW).trimEnd().split("\n");
    if (process.env.SHOW) console.log(text.join("\n"));
    expect(blockAfter("docs/operations.md", "lease record says (docs/leases.md")).toEqual(text);
  });
});

describe("docs/operations.md history", () => {
  it("the history example is what renderHistory prints (no terminal, UTC)", () => {
    const tz = process.env.TZ;
    process.env.TZ = "UTC";
    try {
      const entries: JournalEntry[] = [
        {
          at: "2025-03-01T02:00:13.000Z",
          kind: "prepull",
          recipe: "gitea",
          app: "git.ci.example",
          version: null,
          ok: true,
          images: 2,
          pulled: 2,
          present: 0,
          failed: 0,
          notAttempted: 0,
          errorClasses: [],
          durationMs: 2700,
        },
        {
          at: "2025-03-01T02:30:00.000Z",
          kind: "prune",
          outcome: "pruned",
          reason: "usage 83.4% is below the low watermark (85%)",
          before: { usedPercent: 96.2, freeBytes: Math.round(1.8 * GiB) },
          after: { usedPercent: 83.4, freeBytes: Math.round(8.0 * GiB) },
          freedBytes: Math.round(6.2 * GiB),
          removed: 9,
        },
        {
          at: "2025-03-01T02:30:00.000Z",
          kind: "removal",
          id: id(7),
          ref: "nginx:1.25",
          sizeBytes: 120 * MiB,
          reason: "superseded (#3): needed before by gitea, not in its latest prepull",
        },
      ].map((e) => journalEntrySchema.parse(e));
      const text = renderHistory(entries, [], PLAIN).trimEnd().split("\n");
      if (process.env.SHOW) console.log(text.join("\n"));
      expect(blockAfter("docs/operations.md", "from the journal in the state dir")).toEqual(text);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});
