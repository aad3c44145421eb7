// What mutation testing found unpinned in the history journal (issue 12): its file name and
// default bounds (1 MiB, trimmed to the newest 512 KiB; the bound itself not yet over), counts
// above zero surviving the round trip, a batch written as whole lines, an empty batch writing
// nothing, the mode fixed only on our own file, no descriptor left open, the exact text of each
// problem a reader is shown, and the entry fields taken from the prepull report and env file name.
import {
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  appendJournal,
  JOURNAL_KINDS,
  type JournalEntry,
  prepullEntry,
  pruneEntries,
  readJournal,
} from "../../src/state/journal.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "ikjournal2-"));
const at = new Date("2025-03-01T02:00:00Z");
const prepull: JournalEntry = {
  at: at.toISOString(),
  kind: "prepull",
  recipe: "nextcloud",
  app: "cloud.ci.example",
  version: "v2.1.0",
  ok: false,
  images: 5,
  pulled: 1,
  present: 1,
  failed: 1,
  notAttempted: 2,
  errorClasses: ["rate-limited"],
  durationMs: 12_345,
};
const line = `${JSON.stringify(prepull)}\n`;

describe("the journal file, second round", () => {
  it("is STATE_DIR/journal.jsonl", async () => {
    const dir = tmp();
    await appendJournal(dir, prepull);
    expect(readdirSync(dir)).toEqual(["journal.jsonl"]);
  });

  it("by default: exactly 1 MiB is kept whole; past it, the newest 512 KiB of whole lines remain", async () => {
    const dir = tmp();
    const file = path.join(dir, "journal.jsonl");
    const room = 1024 * 1024 - line.length;
    const filler = "x".repeat(999);
    writeFileSync(file, `${"y".repeat((room % 1000) - 1)}\n${`${filler}\n`.repeat(Math.floor(room / 1000))}`);
    await appendJournal(dir, prepull);
    expect(statSync(file).size).toBe(1024 * 1024);
    await appendJournal(dir, prepull);
    const size = statSync(file).size;
    expect(size).toBeLessThanOrEqual(512 * 1024);
    expect(size).toBeGreaterThan(512 * 1024 - 1000);
    expect(readFileSync(file, "utf8").endsWith(`${filler}\n${line}${line}`)).toBe(true);
  });

  it("counts above zero, removals and their sizes read back as written, a batch as whole lines", async () => {
    const dir = tmp();
    const prune = pruneEntries({
      at,
      outcome: "pruned",
      reason: "usage 91% is above the high watermark (85%)",
      before: { usedPercent: 91, freeBytes: 1e9 },
      after: { usedPercent: 68, freeBytes: 5e9 },
      freedBytes: 4e9,
      removed: [
        { id: "sha256:a", ref: "nginx:1.25", sizeBytes: 2e9, reason: "superseded (#1)" },
        { id: "sha256:b", ref: "redis:7", sizeBytes: 1e9, reason: "unused for 12 days" },
      ],
    });
    await appendJournal(dir, [prepull, ...prune]);
    expect(readJournal(dir)).toEqual({ entries: [prepull, ...prune], problems: [] });
    expect(readFileSync(path.join(dir, "journal.jsonl"), "utf8").split("\n")).toHaveLength(5);
  });

  it("an empty batch writes nothing, not even the state dir", async () => {
    const dir = path.join(tmp(), "state");
    await appendJournal(dir, []);
    expect(() => statSync(dir)).toThrow(/ENOENT/);
  });

  it("leaves no file descriptor open", async () => {
    const dir = tmp();
    await appendJournal(dir, prepull);
    const open = readdirSync("/proc/self/fd").length;
    for (let i = 0; i < 5; i++) await appendJournal(dir, prepull);
    expect(readdirSync("/proc/self/fd").length).toBe(open);
  });

  it("our own file with another mode is made 0664", async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, "journal.jsonl"), "", { mode: 0o600 });
    await appendJournal(dir, prepull);
    expect(statSync(path.join(dir, "journal.jsonl")).mode & 0o777).toBe(0o664);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "another user's file keeps the mode its owner gave it (even for root)",
    async () => {
      const dir = tmp();
      const file = path.join(dir, "journal.jsonl");
      writeFileSync(file, "", { mode: 0o600 });
      chownSync(file, 65534, 65534);
      await appendJournal(dir, prepull);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readJournal(dir).entries).toEqual([prepull]);
    },
  );

  it("the kinds `history --kind` accepts", () => {
    expect(JOURNAL_KINDS).toEqual(["prepull", "prune", "removal"]);
  });
});

describe("what a reader is told", () => {
  it("a blank or whitespace-only line is no problem", () => {
    const dir = tmp();
    writeFileSync(path.join(dir, "journal.jsonl"), `${JSON.stringify(prepull)}\n   \n\t\n\n`);
    expect(readJournal(dir)).toEqual({ entries: [prepull], problems: [] });
  });

  it("an unreadable journal: one problem naming it, no entries", () => {
    const dir = tmp();
    const file = path.join(dir, "journal.jsonl");
    mkdirSync(file);
    expect(readJournal(dir)).toEqual({
      entries: [],
      problems: [`cannot read ${file}: EISDIR: illegal operation on a directory, read`],
    });
  });

  it("each damaged line: its number, the field and zod's reason, or that it is not JSON", () => {
    const dir = tmp();
    const file = path.join(dir, "journal.jsonl");
    writeFileSync(
      file,
      [
        "42",
        '{"at":"2025-03-01T02:00:00.000Z","kind":"removal","id":"a","ref":"r","sizeBytes":-1}',
        "{x",
        JSON.stringify({
          ...pruneEntries({
            at,
            outcome: "pruned",
            reason: "r",
            before: { usedPercent: 1, freeBytes: 1 },
            after: { usedPercent: 1, freeBytes: 1 },
            freedBytes: 0,
            removed: [],
          })[0],
          before: { usedPercent: "x", freeBytes: 1 },
        }),
        "",
      ].join("\n"),
    );
    expect(readJournal(dir)).toEqual({
      entries: [],
      problems: [
        `${file} line 1: entry: Invalid input: expected object, received number (skipped)`,
        `${file} line 2: sizeBytes: Too small: expected number to be >=0; reason: Invalid input: expected string, received undefined (skipped)`,
        `${file} line 3: not JSON (skipped)`,
        `${file} line 4: before.usedPercent: Invalid input: expected number, received string (skipped)`,
      ],
    });
  });
});

describe("prepullEntry, second round", () => {
  it("the app is the env file's name without its final .env only", () => {
    expect(prepullEntry({ ok: true, images: [] }, "/srv/a.env.example.env", at).app).toBe("a.env.example");
  });

  it("counts images not attempted", () => {
    const e = prepullEntry(
      { ok: false, images: [{ action: "not-attempted" }, { action: "not-attempted" }, { action: "pulled" }] },
      undefined,
      at,
    );
    expect([e.notAttempted, e.pulled, e.images]).toEqual([2, 1, 3]);
  });
});
