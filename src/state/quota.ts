// The last known pull quota per registry (Docker Hub's ratelimit headers, as prepull's manifest
// HEADs saw them), for `imagekeeper status`. One small JSON document in the state dir, replaced
// atomically under a lock, group-writable like the other state files; a damaged file is reported
// by status and replaced by the next prepull that sees a quota, never fatal.
import path from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "./atomic.js";
import { ensureSharedDir } from "./dirs.js";
import { withFileLock } from "./lockfile.js";
import { readStateFile } from "./stateFile.js";

export const quotaRecordSchema = z.object({
  /** Epoch ms of the answer the numbers come from. */
  at: z.number(),
  /** host[:port] that answered (a mirror or the registry). */
  endpoint: z.string(),
  limit: z.number().int().min(0),
  remaining: z.number().int().min(0),
  windowSeconds: z.number().int().min(0).nullable(),
  /** Epoch ms by which the window has reset, when known. */
  resetBy: z.number().nullable(),
  /** An IP address or an account: what the pulls count against. */
  source: z.string().nullable(),
  /** Pulls the same prepull made after the answer (so remaining is now about remaining − this). */
  pulledAfter: z.number().int().min(0),
});
export type QuotaRecord = z.output<typeof quotaRecordSchema>;

export const quotaStateSchema = z.object({
  version: z.literal(1),
  /** By registry as image references name it ("docker.io"). */
  registries: z.record(z.string(), quotaRecordSchema),
});
export type QuotaState = z.output<typeof quotaStateSchema>;

export const emptyQuotaState = (): QuotaState => ({ version: 1, registries: {} });

export const quotaStatePath = (stateDir: string): string => path.join(stateDir, "quota.json");

export function readQuotaState(stateDir: string): { state: QuotaState; problem?: string } {
  const { value, problem } = readStateFile(quotaStatePath(stateDir), quotaStateSchema, emptyQuotaState);
  return problem ? { state: value, problem } : { state: value };
}

/** Pure: the state with newer records replacing older ones per registry. */
export function applyQuotaRecords(s: QuotaState, records: Readonly<Record<string, QuotaRecord>>): QuotaState {
  const registries = { ...s.registries };
  for (const [registry, rec] of Object.entries(records)) {
    const seen = registries[registry];
    if (!seen || seen.at <= rec.at) registries[registry] = rec;
  }
  return { version: 1, registries };
}

export async function recordQuotas(
  stateDir: string,
  records: Readonly<Record<string, QuotaRecord>>,
): Promise<{ problem?: string }> {
  if (!Object.keys(records).length) return {};
  ensureSharedDir(stateDir);
  return withFileLock(path.join(stateDir, "quota.lock"), () => {
    const read = readQuotaState(stateDir);
    writeFileAtomic(
      quotaStatePath(stateDir),
      `${JSON.stringify(applyQuotaRecords(read.state, records))}\n`,
      0o664,
      // Stryker disable next-line ObjectLiteral: whether the data was flushed is not observable without a power cut
      {
        // Stryker disable next-line BooleanLiteral: whether the data was flushed is not observable without a power cut
        fsync: false,
      },
    );
    return read.problem ? { problem: read.problem } : {};
  });
}
