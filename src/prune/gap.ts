// Pruning in the gaps between runs (issue 8). A CI sweep keeps run leases live for hours, and a
// prune never removes anything while a lease is live, so waiting for an idle host means the disk
// fills. Instead, just before a run takes its lease (`run`, `lease acquire`) and before a prepull
// pulls, imagekeeper decides here whether a prune must come first: when the disk is under pressure
// (usage at or above the high watermark, or less than `prune.minFree` free), or the bytes about to
// be pulled would put it there. The caller then drains the host (new runs wait, live ones finish,
// bounded by `prune.gapWait`), prunes under the exclusive lock, and only then lets runs start. The
// simulator (`imagekeeper simulate`) calls this same function, so what it measures is what a host
// does. Pure.
import type { Config } from "../config/schema.js";
import { formatBytes } from "../util/duration.js";
import { type DiskUsage, roundPercent, type Thresholds, underPressure } from "./measure.js";

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
  const why = pressureReason(d, cfg, incomingBytes);
  if (why) return { prune: true, reason: why };
  const minFree = cfg.minFree === null ? "" : ` and keeps prune.minFree (${formatBytes(cfg.minFree)}) free`;
  return {
    prune: false,
    reason: `usage ${roundPercent(d.usedPercent)}% stays below the high watermark (${cfg.highWatermarkPercent}%)${minFree}`,
  };
}

/** Why the disk is (or, with `incomingBytes` more, would be) under pressure; null when it is not. */
export function pressureReason(d: DiskUsage, cfg: Thresholds, incomingBytes = 0): string | null {
  const now = `usage ${roundPercent(d.usedPercent)}%`;
  const high = `the high watermark (${cfg.highWatermarkPercent}%)`;
  const minFree = cfg.minFree === null ? "" : `prune.minFree (${formatBytes(cfg.minFree)})`;
  if (d.usedBytes >= usedBytesAt(d, cfg.highWatermarkPercent)) return `${now} is at or above ${high}`;
  if (underPressure(d, cfg)) return `${formatBytes(d.freeBytes)} free is less than ${minFree}`;
  if (!underPressure(d, cfg, incomingBytes)) return null;
  const after = d.usedBytes + Math.max(0, incomingBytes);
  return after >= usedBytesAt(d, cfg.highWatermarkPercent)
    ? `${now} plus the ${incomingBytes} bytes about to be pulled reaches ${high}`
    : `${now} plus the ${incomingBytes} bytes about to be pulled leaves less than ${minFree} free`;
}
