import { appendFileSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { describeEntry, renderHistory } from "../../src/commands/history.js";
import { setLogWriter } from "../../src/log.js";
import {
  appendJournal,
  type JournalEntry,
  journalPath,
  newestLines,
  prepullEntry,
  pruneEntries,
  readJournal,
} from "../../src/state/journal.js";
import { PLAIN } from "../../src/ui/terminal.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "ikjournal-"));
const at = new Date("2025-03-01T02:00:00Z");

const prepull: JournalEntry = {
  at: at.toISOString(),
  kind: "prepull",
  recipe: "nextcloud",
  app: "cloud.ci.example",
  version: "v2.1.0",
  ok: false,
  images: 5,
  pulled: 2,
  present: 2,
  failed: 1,
  notAttempted: 0,
  errorClasses: ["rate-limited"],
  durationMs: 12_345,
};

describe("entries from what the commands have", () => {
  it("prepullEntry counts the images by action and names the app after its env file", () => {
    const e = prepullEntry(
      {
        recipe: "/srv/recipes/nextcloud",
        ref: "v2.1.0",
        ok: false,
        durationMs: 12_345.4,
        images: [
          { action: "pulled" },
          { action: "pulled" },
          { action: "present" },
          { action: "present" },
          { action: "failed", errorClass: "rate-limited" },
        ],
      },
      "/home/ci/.abra/servers/host/cloud.ci.example.env",
      at,
    );
    expect(e).toEqual(prepull);
    expect(
      prepullEntry({ ok: true, version: "1.2.0+3.1", ref: null, images: [] }, undefined, at).version,
    ).toBe("1.2.0+3.1");
    expect(prepullEntry({ ok: true, version: null, ref: "v2", images: [] }, undefined, at).version).toBe(
      "v2",
    );
    expect(prepullEntry({ ok: true, images: [] }, undefined, at)).toMatchObject({
      recipe: null,
      app: null,
      version: null,
      images: 0,
      durationMs: 0,
    });
  });

  it("pruneEntries: the prune and one removal per image; nothing for a routine no-pressure check", () => {
    const base = {
      at,
      reason: "usage 68% is below the low watermark (70%)",
      before: { usedPercent: 91, freeBytes: 1e9 },
      after: { usedPercent: 68, freeBytes: 5e9 },
      freedBytes: 4e9,
      removed: [{ id: "sha256:a", ref: "nginx:1.25", sizeBytes: 2e9, reason: "superseded (#1)" }],
    };
    const es = pruneEntries({ ...base, outcome: "pruned" });
    expect(es).toEqual([
      {
        at: at.toISOString(),
        kind: "prune",
        outcome: "pruned",
        reason: base.reason,
        before: base.before,
        after: base.after,
        freedBytes: 4e9,
        removed: 1,
      },
      {
        at: at.toISOString(),
        kind: "removal",
        id: "sha256:a",
        ref: "nginx:1.25",
        sizeBytes: 2e9,
        reason: "superseded (#1)",
      },
    ]);
    expect(pruneEntries({ ...base, outcome: "no-pressure", removed: [] })).toEqual([]);
    expect(pruneEntries({ ...base, outcome: "deferred", removed: [] })).toHaveLength(1);
  });
});

describe("the journal file", () => {
  let warned = "";
  afterEach(() => {
    setLogWriter(undefined);
    warned = "";
  });

  it("appends, reads back, and is group-writable whatever the umask", async () => {
    const dir = path.join(tmp(), "state");
    const old = process.umask(0o077);
    try {
      await appendJournal(dir, prepull);
      await appendJournal(
        dir,
        pruneEntries({
          at,
          outcome: "deferred",
          reason: "1 run lease",
          before: { usedPercent: 90, freeBytes: 1 },
          after: { usedPercent: 90, freeBytes: 1 },
          freedBytes: 0,
          removed: [],
        }),
      );
    } finally {
      process.umask(old);
    }
    expect(statSync(journalPath(dir)).mode & 0o777).toBe(0o664);
    expect(statSync(dir).mode & 0o7777).toBe(0o2775);
    const r = readJournal(dir);
    expect(r.problems).toEqual([]);
    expect(r.entries.map((e) => e.kind)).toEqual(["prepull", "prune"]);
    expect(r.entries[0]).toEqual(prepull);
  });

  it("skips and reports damaged lines, keeping the rest", async () => {
    const dir = tmp();
    await appendJournal(dir, prepull);
    appendFileSync(
      journalPath(dir),
      '{"at":"2025-03-01T02:00:00.000Z","kind":"prepull"}\nnot json at all\n{"kind":"teleport","at":"x"}\n{"at":"2025-03-01T02:0',
    );
    await appendJournal(dir, prepull);
    const r = readJournal(dir);
    expect(r.entries).toHaveLength(1);
    // The torn last line swallowed the next append's start: both are reported, neither is fatal.
    expect(r.problems).toHaveLength(4);
    expect(r.problems[0]).toMatch(/journal\.jsonl line 2: .*recipe.* \(skipped\)/);
    expect(r.problems[1]).toMatch(/line 3: not JSON \(skipped\)/);
    expect(r.problems[2]).toMatch(/line 4: .*kind/);
  });

  it("stays bounded: past maxBytes only the newest keepBytes remain, whole lines, newest last", async () => {
    const dir = tmp();
    const limits = { maxBytes: 4000, keepBytes: 2000 };
    for (let i = 0; i < 60; i++) await appendJournal(dir, { ...prepull, durationMs: i }, limits);
    const size = statSync(journalPath(dir)).size;
    expect(size).toBeLessThanOrEqual(4000);
    const r = readJournal(dir);
    expect(r.problems).toEqual([]);
    const kept = r.entries.map((e) => (e.kind === "prepull" ? e.durationMs : -1));
    expect(kept[kept.length - 1]).toBe(59);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(kept.length).toBeGreaterThan(5);
    expect(kept[0]).toBeGreaterThan(0);
  });

  it("never throws: an unwritable state dir costs the history, with a warning", async () => {
    setLogWriter((t) => (warned += t));
    const file = path.join(tmp(), "not-a-dir");
    writeFileSync(file, "");
    await expect(appendJournal(path.join(file, "state"), prepull)).resolves.toBeUndefined();
    expect(warned).toContain("could not record this in the history journal");
  });

  it.each([
    ["a\nbb\nccc\n", 100, "a\nbb\nccc\n"],
    ["a\nbb\nccc\n", 7, "bb\nccc\n"],
    ["a\nbb\nccc\n", 4, "ccc\n"],
    ["a\nbb\nccc\n", 3, ""],
    ["é\n", 3, "é\n"],
    ["é\n", 2, ""],
  ])("newestLines(%j, %i)", (text, keep, want) => {
    expect(newestLines(text, keep)).toBe(want);
  });

  it("reads an absent journal as empty", () => {
    expect(readJournal(tmp())).toEqual({ entries: [], problems: [] });
  });
});

describe("history rendering", () => {
  const removal: JournalEntry = {
    at: "2025-03-01T02:30:00.000Z",
    kind: "removal",
    id: "sha256:abc",
    ref: "registry.example.org/coop-cloud/nextcloud:27.1.4-fpm",
    sizeBytes: 125_829_120,
    reason: "superseded (#3): needed before by nextcloud, not in its latest prepull",
  };
  const prune: JournalEntry = {
    at: "2025-03-01T02:30:00.000Z",
    kind: "prune",
    outcome: "pruned",
    reason: "usage 68% is below the low watermark (70%)",
    before: { usedPercent: 91.2, freeBytes: 1 },
    after: { usedPercent: 68, freeBytes: 2 },
    freedBytes: 10_737_418_240,
    removed: 14,
  };

  it.each([
    [
      prepull,
      "nextcloud@v2.1.0 (cloud.ci.example): FAILED, 5 images (2 pulled, 2 present, 1 failed) [rate-limited] in 12.3s",
    ],
    [prune, "pruned: 91.2% → 68%, freed 10.0 GiB, 14 removed; usage 68% is below the low watermark (70%)"],
    [
      removal,
      "registry.example.org/coop-cloud/nextcloud:27.1.4-fpm (120.0 MiB): superseded (#3): needed before by nextcloud, not in its latest prepull",
    ],
  ])("describeEntry %#", (e, text) => {
    expect(describeEntry(e)).toBe(text);
  });

  it("at 160 columns one line per event; at 80 the sentence wraps under its column", () => {
    process.env.TZ = "UTC";
    const wide = renderHistory([prepull, prune], [], { tty: true, columns: 160, color: false }).split("\n");
    expect(wide[0]).toBe("TIME                 KIND     WHAT");
    expect(wide[1]).toBe(`2025-03-01 02:00:00  prepull  ${describeEntry(prepull)}`);
    expect(wide).toHaveLength(4);
    const narrow = renderHistory([removal], ["journal.jsonl line 7: not JSON (skipped)"], {
      tty: true,
      columns: 80,
      color: false,
    }).split("\n");
    expect(narrow).toEqual([
      "TIME                 KIND     WHAT",
      // A word wider than the column (50 here) is cut, never pushed past the width.
      "2025-03-01 02:30:00  removal  registry.example.org/coop-cloud/nextcloud:27.1.4-f",
      "                              pm (120.0 MiB): superseded (#3): needed before by",
      "                              nextcloud, not in its latest prepull",
      "problem: journal.jsonl line 7: not JSON (skipped)",
      "",
    ]);
    for (const l of narrow) expect(l.length).toBeLessThanOrEqual(80);
    const plain = renderHistory([removal], [], PLAIN).split("\n");
    expect(plain[1]).toBe(`2025-03-01 02:30:00  removal  ${describeEntry(removal)}`);
    expect(renderHistory([], [], PLAIN)).toMatch(/^no events recorded/);
  });
});
