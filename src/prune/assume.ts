// Modelled disk readings: the real measurement adjusted for what is about to happen or for a
// what-if. Pure. A gap prune before a pull counts the bytes about to be pulled as used in every
// reading (so its gate, plan and stopping point all see the disk as it will be once they land);
// `prune --dry-run --assume-usage PCT` plans as if usage were PCT% of the same filesystem.
import type { DiskUsage } from "./measure.js";

const capacityOf = (d: DiskUsage) => d.usedBytes + d.freeBytes;

function withUsed(d: DiskUsage, usedBytes: number): DiskUsage {
  const capacity = capacityOf(d);
  const used = Math.max(0, Math.round(usedBytes));
  return {
    ...d,
    usedBytes: used,
    freeBytes: Math.max(0, capacity - used),
    usedPercent: capacity > 0 ? (used / capacity) * 100 : 0,
  };
}

/** The disk once `incomingBytes` more are used (≤ 0: as measured). */
export function withIncoming(d: DiskUsage, incomingBytes: number): DiskUsage {
  return incomingBytes > 0 ? withUsed(d, d.usedBytes + incomingBytes) : d;
}

/** The same filesystem at `percent` usage (of used + available, as df's Use%). */
export function atUsage(d: DiskUsage, percent: number): DiskUsage {
  return { ...withUsed(d, (capacityOf(d) * percent) / 100), usedPercent: percent };
}
