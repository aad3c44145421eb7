// A modelled disk reading for a what-if: `prune --dry-run --assume-usage PCT` plans as if usage
// were PCT% of the same filesystem. Pure. (Bytes about to be pulled are not modelled here: the
// planner takes them as PruneFacts.incomingBytes, measure.ts counts them in gate and target.)
import type { DiskUsage } from "./measure.js";

const capacityOf = (d: DiskUsage) => d.usedBytes + d.freeBytes;

/** The same filesystem at `percent` usage (of used + available, as df's Use%). */
export function atUsage(d: DiskUsage, percent: number): DiskUsage {
  const capacity = capacityOf(d);
  const used = Math.max(0, Math.round((capacity * percent) / 100));
  return { ...d, usedBytes: used, freeBytes: Math.max(0, capacity - used), usedPercent: percent };
}
