// The last prune, for `imagekeeper status`: its outcome, what it freed as measured, and how many
// prunes in a row were deferred by run leases (a CI host that is never idle never prunes: status
// should say so). One small JSON document in the state dir, replaced atomically; a damaged file is
// reported and replaced by the next prune, never fatal.
import path from "node:path";
import { z } from "zod";
import { OUTCOMES } from "../model/prune-outcome.js";
import { writeFileAtomic } from "./atomic.js";
import { ensureSharedDir } from "./dirs.js";
import { withFileLock } from "./lockfile.js";
import { readStateFile } from "./stateFile.js";

const usage = z.object({ usedPercent: z.number(), freeBytes: z.number() });

export const pruneRecordSchema = z.object({
  at: z.string(),
  outcome: z.enum(OUTCOMES),
  reason: z.string(),
  before: usage,
  after: usage,
  /** Free bytes gained, as measured on the filesystem (not summed image sizes). */
  bytesFreed: z.number(),
  imagesRemoved: z.number().int().min(0),
  /** For insufficient prunes: what blocked (kept images by reason). */
  blocked: z.array(z.object({ code: z.string(), images: z.number(), bytes: z.number() })).optional(),
});
export type PruneRecord = z.output<typeof pruneRecordSchema>;

export const pruneStateSchema = z.object({
  version: z.literal(1),
  last: pruneRecordSchema.nullable(),
  /** The last prune that removed anything or tried to (pruned or insufficient). */
  lastCompleted: pruneRecordSchema.nullable(),
  consecutiveDeferrals: z.number().int().min(0),
});
export type PruneState = z.output<typeof pruneStateSchema>;

export const emptyPruneState = (): PruneState => ({
  version: 1,
  last: null,
  lastCompleted: null,
  consecutiveDeferrals: 0,
});

export function pruneStatePath(stateDir: string): string {
  return path.join(stateDir, "last-prune.json");
}

export function readPruneState(stateDir: string): { state: PruneState; problem?: string } {
  const { value, problem } = readStateFile(pruneStatePath(stateDir), pruneStateSchema, emptyPruneState);
  return problem ? { state: value, problem } : { state: value };
}

/** Pure: the state after one prune. */
export function applyPruneRecord(s: PruneState, rec: PruneRecord): PruneState {
  const completed = rec.outcome === "pruned" || rec.outcome === "insufficient";
  return {
    version: 1,
    last: rec,
    lastCompleted: completed ? rec : s.lastCompleted,
    consecutiveDeferrals: rec.outcome === "deferred" ? s.consecutiveDeferrals + 1 : 0,
  };
}

export async function recordPrune(stateDir: string, rec: PruneRecord): Promise<{ problem?: string }> {
  ensureSharedDir(stateDir);
  return withFileLock(path.join(stateDir, "last-prune.lock"), () => {
    const read = readPruneState(stateDir);
    writeFileAtomic(
      pruneStatePath(stateDir),
      `${JSON.stringify(applyPruneRecord(read.state, rec))}\n`,
      0o664,
    );
    return read.problem ? { problem: read.problem } : {};
  });
}
