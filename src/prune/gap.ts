// Pruning in the gaps between runs (issue 8). A CI sweep keeps run leases live for hours, and a
// prune never removes anything while a lease is live, so waiting for an idle host means the disk
// fills. Instead, just before a run takes its lease (`run`, `lease acquire`) and before a prepull
// pulls, imagekeeper decides here whether a prune must come first: when usage is at or above the
// high watermark, or the bytes about to be pulled would take it there. The caller then drains the
// host (new runs wait, live ones finish, bounded by `prune.gapWait`), prunes under the exclusive
// lock, and only then lets runs start. The simulator (`imagekeeper simulate`) calls this same
// function, so what it measures is what a host does. Pure.
import type { Config } from "../config/schema.js";
import { type DiskUsage, roundPercent } from "./measure.js";

export interface GapDecision {
  prune: boolean;
  reason: string;
}

/** Used bytes at which usage reaches `percent` of the filesystem's capacity (used + available). */
export function usedBytesAt(d: DiskUsage, percent: number): number {
  return ((d.usedBytes + d.freeBytes) * percent) / 100;
}

/**
 * Must a prune run before this run or pull? `incomingBytes` is what the caller is about to add
 * (the bytes a prepull will download, 0 when unknown or for a run).
 */
export function gapPruneDecision(d: DiskUsage, incomingBytes: number, cfg: Config["prune"]): GapDecision {
  const high = usedBytesAt(d, cfg.highWatermarkPercent);
  const after = d.usedBytes + Math.max(0, incomingBytes);
  const now = `usage ${roundPercent(d.usedPercent)}%`;
  if (d.usedBytes >= high)
    return { prune: true, reason: `${now} is at or above the high watermark (${cfg.highWatermarkPercent}%)` };
  if (after >= high)
    return {
      prune: true,
      reason: `${now} plus the ${incomingBytes} bytes about to be pulled reaches the high watermark (${cfg.highWatermarkPercent}%)`,
    };
  return { prune: false, reason: `${now} stays below the high watermark (${cfg.highWatermarkPercent}%)` };
}
