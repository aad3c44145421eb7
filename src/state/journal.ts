// The history journal: what prepulls and prunes did, one JSON object per line in
// STATE_DIR/journal.jsonl, read by `imagekeeper history`. Bounded: past MAX_BYTES the oldest lines
// are dropped (the file is rewritten atomically to its newest KEEP_BYTES), so a host that prunes
// for years keeps a few thousand recent events, never a growing file. Appends and the trim run
// under a short file lock; the file is group-writable (0664) like the ledger, for the runner's
// prepulls and the prune service alike.
// Recording history must never fail the command that made it: appendJournal logs and swallows.
// On read, each line is validated; a damaged line is skipped and reported, never fatal.
import { closeSync, fchmodSync, fstatSync, openSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { logger } from "../log.js";
import { OUTCOMES } from "../model/prune-outcome.js";
import { writeFileAtomic } from "./atomic.js";
import { ensureSharedDir } from "./dirs.js";
import { withFileLock } from "./lockfile.js";

export const JOURNAL_FILE = "journal.jsonl";
export const MAX_BYTES = 1024 * 1024;
export const KEEP_BYTES = 512 * 1024;

const usage = z.object({ usedPercent: z.number(), freeBytes: z.number() });

export const prepullEntrySchema = z.object({
  at: z.iso.datetime(),
  kind: z.literal("prepull"),
  /** The recipe directory's name. */
  recipe: z.string().nullable(),
  /** The app: the env file's name without ".env" (abra names them DOMAIN.env), or null. */
  app: z.string().nullable(),
  /** The recipe version prepulled (the report's version, else --ref), or null when not known. */
  version: z.string().nullable(),
  ok: z.boolean(),
  images: z.number().int().min(0),
  pulled: z.number().int().min(0),
  present: z.number().int().min(0),
  failed: z.number().int().min(0),
  notAttempted: z.number().int().min(0),
  /** The error classes of the failed images (rate-limited, not-found, …). */
  errorClasses: z.array(z.string()),
  durationMs: z.number().min(0),
});

export const pruneEntrySchema = z.object({
  at: z.iso.datetime(),
  kind: z.literal("prune"),
  outcome: z.enum(OUTCOMES),
  reason: z.string(),
  before: usage,
  after: usage,
  /** Measured on the filesystem, not summed image sizes. */
  freedBytes: z.number(),
  removed: z.number().int().min(0),
});

export const removalEntrySchema = z.object({
  at: z.iso.datetime(),
  kind: z.literal("removal"),
  id: z.string(),
  ref: z.string(),
  sizeBytes: z.number().min(0),
  reason: z.string(),
});

export const journalEntrySchema = z.discriminatedUnion("kind", [
  prepullEntrySchema,
  pruneEntrySchema,
  removalEntrySchema,
]);
export type JournalEntry = z.output<typeof journalEntrySchema>;
export type JournalKind = JournalEntry["kind"];
export const JOURNAL_KINDS: readonly JournalKind[] = ["prepull", "prune", "removal"];

export const journalPath = (stateDir: string) => path.join(stateDir, JOURNAL_FILE);

export interface JournalLimits {
  maxBytes: number;
  keepBytes: number;
}

/** Append to a group-shared file: created 0664 whatever the umask, one write(2) per batch. */
function appendShared(file: string, text: string): number {
  const fd = openSync(file, "a", 0o664);
  try {
    const st = fstatSync(fd);
    if ((st.mode & 0o777) !== 0o664 && st.uid === process.getuid?.()) {
      try {
        fchmodSync(fd, 0o664);
      } catch {
        // not ours to change
      }
    }
    writeSync(fd, text);
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** The newest whole lines of `text` that fit in `keepBytes`. */
export function newestLines(text: string, keepBytes: number): string {
  const lines = text.split("\n").filter((l) => l !== "");
  let bytes = 0;
  let i = lines.length;
  while (i > 0) {
    const n = Buffer.byteLength(lines[i - 1]!) + 1;
    if (bytes + n > keepBytes) break;
    bytes += n;
    i--;
  }
  const kept = lines.slice(i);
  return kept.length ? `${kept.join("\n")}\n` : "";
}

/**
 * Record entries in the journal. Never throws: a state dir that cannot be written costs the
 * history, not the prepull or prune that called this (a warning says why).
 */
export async function appendJournal(
  stateDir: string,
  entry: JournalEntry | readonly JournalEntry[],
  limits: JournalLimits = { maxBytes: MAX_BYTES, keepBytes: KEEP_BYTES },
): Promise<void> {
  const entries: readonly JournalEntry[] = Array.isArray(entry) ? entry : [entry as JournalEntry];
  if (entries.length === 0) return;
  const file = journalPath(stateDir);
  try {
    const text = entries.map((e) => `${JSON.stringify(journalEntrySchema.parse(e))}\n`).join("");
    ensureSharedDir(stateDir);
    await withFileLock(path.join(stateDir, "journal.lock"), () => {
      const size = appendShared(file, text);
      if (size > limits.maxBytes) {
        // Stryker disable next-line ObjectLiteral: whether the data was flushed is not observable without a power cut
        writeFileAtomic(file, newestLines(readFileSync(file, "utf8"), limits.keepBytes), 0o664, {
          // Stryker disable next-line BooleanLiteral: whether the data was flushed is not observable without a power cut
          fsync: false,
        });
      }
    });
  } catch (e) {
    logger().warn({ file, err: (e as Error).message }, "could not record this in the history journal");
  }
}

export interface JournalRead {
  entries: JournalEntry[];
  /** Damaged lines, skipped: "FILE line N: why". */
  problems: string[];
}

export function readJournal(stateDir: string): JournalRead {
  const file = journalPath(stateDir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { entries: [], problems: [] };
    return { entries: [], problems: [`cannot read ${file}: ${(e as Error).message}`] };
  }
  const entries: JournalEntry[] = [];
  const problems: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      problems.push(`${file} line ${i + 1}: not JSON (skipped)`);
      return;
    }
    const r = journalEntrySchema.safeParse(json);
    if (r.success) entries.push(r.data);
    else
      problems.push(
        `${file} line ${i + 1}: ${r.error.issues.map((x) => `${x.path.join(".") || "entry"}: ${x.message}`).join("; ")} (skipped)`,
      );
  });
  return { entries, problems };
}

// ------------------------------------------------------------------------------------------------
// Entries from what the commands already have (plain shapes: the store knows no pull or prune types).

export interface PrepullSummary {
  recipe?: string | undefined;
  /** The recipe version resolved, when the report has one. */
  version?: string | null | undefined;
  /** --ref */
  ref?: string | null | undefined;
  ok: boolean;
  durationMs?: number | undefined;
  images: readonly { action: string; errorClass?: string | undefined }[];
}

export function prepullEntry(
  report: PrepullSummary,
  envFile: string | undefined,
  at = new Date(),
): z.output<typeof prepullEntrySchema> {
  const count = (a: string) => report.images.filter((i) => i.action === a).length;
  return {
    at: at.toISOString(),
    kind: "prepull",
    recipe: report.recipe ? path.basename(report.recipe) : null,
    app: envFile ? path.basename(envFile).replace(/\.env$/, "") : null,
    version: report.version ?? report.ref ?? null,
    ok: report.ok,
    images: report.images.length,
    pulled: count("pulled"),
    present: count("present"),
    failed: count("failed"),
    notAttempted: count("not-attempted"),
    errorClasses: [...new Set(report.images.flatMap((i) => (i.errorClass ? [i.errorClass] : [])))],
    durationMs: Math.round(report.durationMs ?? 0),
  };
}

export interface PruneSummary {
  at: Date;
  outcome: z.output<typeof pruneEntrySchema>["outcome"];
  reason: string;
  before: z.output<typeof usage>;
  after: z.output<typeof usage>;
  freedBytes: number;
  removed: readonly { id: string; ref: string; sizeBytes: number; reason: string }[];
}

/**
 * The prune and each removal. A prune without pressure records nothing: the timer's routine
 * "no-pressure" checks would crowd out what happened (status shows the last one).
 */
export function pruneEntries(p: PruneSummary): JournalEntry[] {
  if (p.outcome === "no-pressure") return [];
  const at = p.at.toISOString();
  return [
    {
      at,
      kind: "prune",
      outcome: p.outcome,
      reason: p.reason,
      before: p.before,
      after: p.after,
      freedBytes: p.freedBytes,
      removed: p.removed.length,
    },
    ...p.removed.map((r) => ({ at, kind: "removal" as const, ...r })),
  ];
}
