// How full is the filesystem holding Docker's root dir (`docker info` → DockerRootDir)? Measured
// with statfs(2), the same numbers `df` prints, and measured again after every removal step:
// image sizes say little about bytes freed (shared layers, overlay metadata), the filesystem does.
import { statfs } from "node:fs/promises";
import { ToolError } from "../errors.js";

export interface DiskUsage {
  /** The directory measured (DockerRootDir). */
  path: string;
  totalBytes: number;
  usedBytes: number;
  /** Bytes available to the daemon's writes (df's "Avail": root-reserved blocks excluded). */
  freeBytes: number;
  /** used / (used + available) × 100, as df computes Use% (unrounded). */
  usedPercent: number;
}

export interface StatfsNumbers {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

export function usageFromStatfs(path: string, s: StatfsNumbers): DiskUsage {
  const usedBytes = (s.blocks - s.bfree) * s.bsize;
  const freeBytes = s.bavail * s.bsize;
  const capacity = usedBytes + freeBytes;
  return {
    path,
    totalBytes: s.blocks * s.bsize,
    usedBytes,
    freeBytes,
    usedPercent: capacity > 0 ? (usedBytes / capacity) * 100 : 0,
  };
}

export async function measureDisk(path: string): Promise<DiskUsage> {
  try {
    return usageFromStatfs(path, await statfs(path));
  } catch (e) {
    throw new ToolError(
      `cannot measure the filesystem of Docker's root dir ${path}: ${(e as Error).message}`,
      {
        hint: "Run imagekeeper on the Docker host itself (the daemon's DockerRootDir must be visible here), as a user that may stat it.",
        cause: e,
      },
    );
  }
}

/** Bytes to free so that usage drops below `percent` (0 when it already is). */
export function bytesToReach(d: DiskUsage, percent: number): number {
  const capacity = d.usedBytes + d.freeBytes;
  return Math.max(0, Math.floor(d.usedBytes - (percent / 100) * capacity) + 1);
}

export function roundPercent(p: number): number {
  return Math.round(p * 100) / 100;
}

/**
 * The thresholds a prune works with: the percentages of the filesystem (used / (used + available))
 * and, when set, absolute free space as nix.conf's min-free/max-free mean it. They combine so that
 * the stricter one wins on each side:
 *   - pressure (a prune is due): usage at or above `highWatermarkPercent`, OR fewer than `minFree`
 *     bytes free;
 *   - target (a prune stops): usage below `lowWatermarkPercent` AND at least `maxFree` bytes free
 *     (`minFree` when only it is set).
 * `incomingBytes` is what the caller is about to add (a prepull's pulls): the disk is judged as it
 * will be once they have arrived.
 */
export interface Thresholds {
  highWatermarkPercent: number;
  lowWatermarkPercent: number;
  minFree: number | null;
  maxFree: number | null;
}

const capacityOf = (d: DiskUsage) => d.usedBytes + d.freeBytes;

/** Is the disk (after `incomingBytes` more) under pressure? */
export function underPressure(d: DiskUsage, t: Thresholds, incomingBytes = 0): boolean {
  const cap = capacityOf(d);
  const used = d.usedBytes + Math.max(0, incomingBytes);
  if (used >= (cap * t.highWatermarkPercent) / 100) return true;
  return t.minFree !== null && cap - used < t.minFree;
}

/** Free bytes a prune aims for: maxFree, else minFree, else none. */
export function targetFreeBytes(t: { minFree?: number | null; maxFree?: number | null }): number {
  return t.maxFree ?? t.minFree ?? 0;
}

/** Has a prune reached its target (with room for `incomingBytes` more)? */
export function reachedTarget(d: DiskUsage, t: Thresholds, incomingBytes = 0): boolean {
  const cap = capacityOf(d);
  const used = d.usedBytes + Math.max(0, incomingBytes);
  return used < (cap * t.lowWatermarkPercent) / 100 && cap - used >= targetFreeBytes(t);
}

/** Bytes to free to reach the target (0 when reached): the larger of the percent and free-bytes needs. */
export function bytesToTarget(d: DiskUsage, t: Thresholds, incomingBytes = 0): number {
  const incoming = Math.max(0, incomingBytes);
  const after = { ...d, usedBytes: d.usedBytes + incoming, freeBytes: d.freeBytes - incoming };
  const byPercent = bytesToReach(after, t.lowWatermarkPercent);
  const byFree = targetFreeBytes(t) - (d.freeBytes - incoming);
  return Math.max(0, byPercent, byFree);
}
