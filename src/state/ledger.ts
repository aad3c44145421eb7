// The prepull ledger: what each recipe needed, and when each image was last needed. Prepull writes
// it; prune reads it for last use, usual gap between uses, and "superseded" (a recipe needed the
// image before but not in its latest prepull). One JSON document, changed under a short lock and
// replaced atomically, so concurrent prepulls are safe. A damaged file never blocks a prepull: it is
// set aside (ledger.json.damaged-TIME), reported, and a fresh ledger is started.
import { renameSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "./atomic.js";
import { ensureSharedDir } from "./dirs.js";
import { withFileLock } from "./lockfile.js";
import { readStateFile } from "./stateFile.js";

/** Use times kept per image: enough to estimate its usual gap. */
export const MAX_USES = 32;

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "not a timestamp");

export const ledgerSchema = z.object({
  version: z.literal(1),
  recipes: z.record(
    z.string(),
    z.object({
      lastPrepull: iso,
      /** Git ref the images were read at (--ref), or null for the working tree. */
      ref: z.string().nullable(),
      images: z.array(z.string()),
    }),
  ),
  images: z.record(
    z.string(),
    z.object({
      id: z.string().nullable(),
      uses: z.array(iso),
      recipes: z.array(z.string()),
    }),
  ),
  /** When imagekeeper first saw an image ID (prune's last-resort age). */
  firstSeen: z.record(z.string(), iso),
});
export type Ledger = z.output<typeof ledgerSchema>;

export function emptyLedger(): Ledger {
  return { version: 1, recipes: {}, images: {}, firstSeen: {} };
}

export interface LedgerRead {
  ledger: Ledger;
  /** Set when the file existed but could not be used; it was then set aside. */
  problem?: string;
}

export function ledgerPath(stateDir: string): string {
  return path.join(stateDir, "ledger.json");
}

/** Read the ledger; a missing file is an empty ledger, a damaged one is reported (not thrown). */
export function readLedger(stateDir: string): LedgerRead {
  const { value, problem } = readStateFile(ledgerPath(stateDir), ledgerSchema, emptyLedger);
  return problem ? { ledger: value, problem } : { ledger: value };
}

export interface PrepullRecord {
  at: Date;
  recipe: string;
  ref: string | null;
  images: { ref: string; id: string | null }[];
}

/** Pure: the ledger after one prepull. */
export function applyPrepull(ledger: Ledger, rec: PrepullRecord): Ledger {
  const at = rec.at.toISOString();
  const next: Ledger = structuredClone(ledger);
  next.recipes[rec.recipe] = { lastPrepull: at, ref: rec.ref, images: rec.images.map((i) => i.ref).sort() };
  for (const img of rec.images) {
    const e = next.images[img.ref] ?? { id: null, uses: [], recipes: [] };
    if (img.id) e.id = img.id;
    e.uses = [...e.uses, at].sort().slice(-MAX_USES);
    if (!e.recipes.includes(rec.recipe)) e.recipes = [...e.recipes, rec.recipe].sort();
    next.images[img.ref] = e;
    if (img.id && !next.firstSeen[img.id]) next.firstSeen[img.id] = at;
  }
  return next;
}

/** Pure: record first sightings of image IDs (prune calls this for every image it lists). */
export function applySeen(ledger: Ledger, ids: string[], at: Date): Ledger {
  const missing = ids.filter((id) => !ledger.firstSeen[id]);
  if (!missing.length) return ledger;
  const next = structuredClone(ledger);
  for (const id of missing) next.firstSeen[id] = at.toISOString();
  return next;
}

export interface UpdateResult {
  ledger: Ledger;
  problem?: string;
}

/** Read-modify-write under the ledger lock. A damaged file is set aside and rebuilt. */
export async function updateLedger(stateDir: string, change: (l: Ledger) => Ledger): Promise<UpdateResult> {
  ensureSharedDir(stateDir);
  return withFileLock(path.join(stateDir, "ledger.lock"), () => {
    const read = readLedger(stateDir);
    if (read.problem) {
      try {
        renameSync(ledgerPath(stateDir), `${ledgerPath(stateDir)}.damaged-${Date.now()}`);
      } catch {
        // unreadable and unmovable: the atomic write below replaces it anyway
      }
    }
    const next = change(read.ledger);
    // No fsync: a ledger lost to a power cut is rebuilt, and prune never acts hastily on a fresh one.
    writeFileAtomic(ledgerPath(stateDir), `${JSON.stringify(next)}\n`, 0o664, { fsync: false });
    return read.problem ? { ledger: next, problem: read.problem } : { ledger: next };
  });
}
