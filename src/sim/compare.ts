// One simulation report: for each disk capacity, the policy's replay, the offline reference on the
// same trace and the requested baselines, as plain data validated by zod (it crosses the CLI
// boundary as `imagekeeper simulate --json`).
import { z } from "zod";
import type { Config } from "../config/schema.js";
import { OUTCOMES } from "../model/prune-outcome.js";
import { beladyReference } from "./reference.js";
import { type SimPolicy, type SimResult, simulate } from "./simulate.js";
import type { TraceRun } from "./trace.js";

export const BASELINES = ["lru", "oracle", "autoprune"] as const;
export type Baseline = (typeof BASELINES)[number];

const bytes = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

const baselineSchema = z.strictObject({
  pulls: count,
  repulledBytes: bytes,
  peakBytes: bytes,
  overCapacityRuns: count,
  /** repulledBytes / reference.repulledBytes; null when the reference re-pulled nothing but this did. */
  ratio: z.number().nullable(),
});

export const capacityResultSchema = z.strictObject({
  capacityBytes: bytes,
  runs: count,
  pulls: count,
  pulledBytes: bytes,
  repulledBytes: bytes,
  peakBytes: bytes,
  overCapacityRuns: count,
  deployPulls: count,
  prunes: z.partialRecord(z.enum(OUTCOMES), count),
  gapDrains: count,
  gapGiveUps: count,
  removals: count,
  removedBytes: bytes,
  leaseTimeouts: count,
  delay: z.strictObject({
    delayedRuns: count,
    totalS: z.number().nonnegative(),
    maxS: z.number().nonnegative(),
  }),
  /** Belady on demand at the full capacity (src/sim/reference.ts). */
  reference: z.strictObject({ pulls: count, repulledBytes: bytes, overCapacityRuns: count }),
  ratio: z.number().nullable(),
  baselines: z.partialRecord(z.enum(BASELINES), baselineSchema),
});
export type CapacityResult = z.output<typeof capacityResultSchema>;

export const simulateReportSchema = z.strictObject({
  trace: z.strictObject({
    runs: count,
    images: count,
    /** Distinct image bytes the whole trace pulls at least once. */
    distinctBytes: bytes,
    /** The largest set of distinct image bytes any 24 hours of the trace use. */
    peakDayBytes: bytes,
    from: z.string().nullable(),
    to: z.string().nullable(),
  }),
  results: z.array(capacityResultSchema),
});
export type SimulateReport = z.output<typeof simulateReportSchema>;

export interface CompareOptions {
  capacities: readonly number[];
  config: Config;
  baselines?: readonly Baseline[];
  timerEveryMs?: number | null;
  pullBytesPerSecond?: number;
}

/** repulled / reference; 1 when both are 0; null when only the reference is 0. */
export function ratioOf(repulled: number, reference: number): number | null {
  if (reference === 0) return repulled === 0 ? 1 : null;
  return Math.round((repulled / reference) * 1000) / 1000;
}

/** Distinct bytes of the busiest 24 hours (a window starting at each run). */
export function peakDayBytes(runs: readonly TraceRun[]): number {
  let best = 0;
  let j = 0;
  const inWindow = new Map<string, { size: number; n: number }>();
  let bytesNow = 0;
  for (let i = 0; i < runs.length; i++) {
    const end = runs[i]!.t + 86_400_000;
    while (j < runs.length && runs[j]!.t < end) {
      for (const img of new Set(runs[j]!.images.map((x) => x.id))) {
        const e = inWindow.get(img);
        if (e) e.n++;
        else {
          const size = runs[j]!.images.find((x) => x.id === img)!.sizeBytes;
          inWindow.set(img, { size, n: 1 });
          bytesNow += size;
        }
      }
      j++;
    }
    best = Math.max(best, bytesNow);
    for (const img of new Set(runs[i]!.images.map((x) => x.id))) {
      const e = inWindow.get(img)!;
      if (--e.n === 0) {
        inWindow.delete(img);
        bytesNow -= e.size;
      }
    }
  }
  return best;
}

export function traceSummary(runs: readonly TraceRun[]): SimulateReport["trace"] {
  const sizes = new Map<string, number>();
  for (const r of runs) for (const i of r.images) sizes.set(i.id, i.sizeBytes);
  return {
    runs: runs.length,
    images: sizes.size,
    distinctBytes: [...sizes.values()].reduce((a, b) => a + b, 0),
    peakDayBytes: peakDayBytes(runs),
    from: runs.length ? new Date(runs[0]!.t).toISOString() : null,
    to: runs.length ? new Date(runs[runs.length - 1]!.t).toISOString() : null,
  };
}

function baselineOf(r: SimResult, referenceRepulled: number): z.output<typeof baselineSchema> {
  return {
    pulls: r.pulls,
    repulledBytes: r.repulledBytes,
    peakBytes: r.peakBytes,
    overCapacityRuns: r.overCapacityRuns,
    ratio: ratioOf(r.repulledBytes, referenceRepulled),
  };
}

/** Replay `runs` at each capacity with the policy, the reference and the baselines. */
export async function compare(runs: readonly TraceRun[], o: CompareOptions): Promise<SimulateReport> {
  const results: CapacityResult[] = [];
  for (const capacityBytes of o.capacities) {
    const sim = (policy: SimPolicy) =>
      simulate(runs, {
        capacityBytes,
        config: o.config,
        policy,
        ...(o.timerEveryMs !== undefined ? { timerEveryMs: o.timerEveryMs } : {}),
        ...(o.pullBytesPerSecond !== undefined ? { pullBytesPerSecond: o.pullBytesPerSecond } : {}),
      });
    const r = await sim("imagekeeper");
    const ref = beladyReference(runs, capacityBytes);
    const baselines: CapacityResult["baselines"] = {};
    for (const b of o.baselines ?? []) baselines[b] = baselineOf(await sim(b), ref.repulledBytes);
    const { policy: _p, repulledByClass: _c, ...rest } = r;
    results.push({
      ...rest,
      reference: {
        pulls: ref.pulls,
        repulledBytes: ref.repulledBytes,
        overCapacityRuns: ref.overCapacityRuns,
      },
      ratio: ratioOf(r.repulledBytes, ref.repulledBytes),
      baselines,
    });
  }
  return simulateReportSchema.parse({ trace: traceSummary(runs), results });
}
