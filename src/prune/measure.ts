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
