// What the records say: one JSON file per lease (lease.<id>.json) and one for the prune holding
// the exclusive lock (exclusive.json). For listing and messages only: the lease lock decides, so a
// missing, stale or forged record can never let a prune in or keep it out. A record counts while
// its holder keeps it locked (records.ts); its content is validated with zod when read, since
// another user's process wrote it.
import { readdirSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { logger } from "../log.js";
import type { ProcessIdentity } from "./proc.js";
import { readRecord, unlinkIfSame } from "./records.js";
import { exclusiveFile, LEASE_ID_PATTERN, leaseFile, leaseIdOfFile } from "./rundir.js";

const identityShape = {
  pid: z.number().int().positive(),
  /** /proc/[pid]/stat start time and the boot id: checked before a holder is signalled (proof.ts). */
  startTime: z.number().int().nonnegative(),
  bootId: z.string().min(1),
};

export const leaseRecordSchema = z
  .strictObject({
    v: z.literal(1),
    id: z.string().regex(LEASE_ID_PATTERN),
    kind: z.enum(["run", "acquired"]),
    ...identityShape,
    command: z.string().max(1000),
    since: z.iso.datetime(),
    expiresAt: z.iso.datetime().optional(),
  })
  .refine((r) => (r.kind === "acquired") === (r.expiresAt !== undefined), {
    message: "expiresAt is set exactly for acquired leases",
  });

export type LeaseRecord = z.output<typeof leaseRecordSchema>;

export const exclusiveRecordSchema = z.strictObject({
  v: z.literal(1),
  ...identityShape,
  since: z.iso.datetime(),
});

export type ExclusiveRecord = z.output<typeof exclusiveRecordSchema>;

export function identityOf(r: { pid: number; startTime: number; bootId: string }): ProcessIdentity {
  return { pid: r.pid, startTime: r.startTime, bootId: r.bootId };
}

export interface LeaseFile {
  /** The validated record, or "invalid" when the file is not a lease record (for this id). */
  rec: LeaseRecord | "invalid";
  held: boolean;
  dev: number;
  ino: number;
  /** The record file's owner. */
  uid: number;
}

export async function readLeaseFile(runDir: string, id: string): Promise<LeaseFile | undefined> {
  const r = await readRecord(leaseFile(runDir, id));
  if (!r) return undefined;
  const parsed = leaseRecordSchema.safeParse(r.raw);
  return {
    rec: parsed.success && parsed.data.id === id ? parsed.data : "invalid",
    held: r.held,
    dev: r.dev,
    ino: r.ino,
    uid: r.uid,
  };
}

/**
 * Every held lease record. Unheld ones (a SIGKILLed run, an expired or released holder, a forged
 * file) are removed on the way, so the run dir does not fill up.
 */
export async function liveLeaseRecords(runDir: string): Promise<LeaseRecord[]> {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: LeaseRecord[] = [];
  // Stryker disable next-line MethodExpression: readdirSync already returns names in strcmp order (libuv sorts scandir's list), the same order for ASCII lease ids
  for (const name of names.sort()) {
    const id = leaseIdOfFile(name);
    if (id === undefined) continue;
    const f = await readLeaseFile(runDir, id);
    if (!f) continue;
    if (!f.held) {
      unlinkIfSame(leaseFile(runDir, id), f.ino);
      continue;
    }
    if (f.rec === "invalid") {
      // Held, so some live process owns it (perhaps a newer imagekeeper): leave it alone.
      logger().debug({ file: path.join(runDir, name) }, "ignoring a held lease record of unknown shape");
      continue;
    }
    out.push(f.rec);
  }
  return out;
}

/** The prune holding the exclusive lock, when its record is held and readable. */
export async function liveExclusiveRecord(runDir: string): Promise<ExclusiveRecord | undefined> {
  const r = await readRecord(exclusiveFile(runDir));
  if (!r?.held) return undefined;
  const parsed = exclusiveRecordSchema.safeParse(r.raw);
  return parsed.success ? parsed.data : undefined;
}
