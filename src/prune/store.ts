// The image store as `status` shows it: how much of the disk is images, how much of that the
// policy lets a prune remove, how much a prune down to its target (below the low watermark, with
// maxFree free) would remove now, and how much of the disk is not images at all (containers'
// layers, volumes, build cache, logs, and anything else on the filesystem). Pure: it reads a
// plan (the same planner prune runs) and the daemon's layer total (GET /system/df LayersSize,
// what `docker system df` shows: shared layers counted once).
import type { DiskUsage } from "./measure.js";
import type { PrunePlan } from "./plan.js";

export interface StoreView {
  images: number;
  /** Bytes of image layers on disk (shared layers once); null when the daemon did not say. */
  bytes: number | null;
  /** Every image the policy lets a prune remove now (in any amount). */
  removable: { images: number; bytes: number };
  /**
   * What a prune down to its target would remove now, predicted by image sizes as the planner
   * predicts it: every dangling image, then tagged ones in order until the target is reached.
   * Zero tagged images when the disk is already at its target.
   */
  reclaimable: { images: number; bytes: number };
  /** Used bytes of the filesystem that are not image layers; null when the layers are not known. */
  nonImageBytes: number | null;
}

export function storeView(
  plan: PrunePlan,
  images: number,
  layersBytes: number | null,
  disk: DiskUsage,
  chunkSize: number,
): StoreView {
  const sum = (ps: readonly { sizeBytes: number }[]) => ps.reduce((n, p) => n + p.sizeBytes, 0);
  const dangling = plan.removable.filter((p) => p.phase === "dangling");
  const tagged = plan.removable.filter((p) => p.phase === "tagged");
  let freed = sum(dangling);
  let count = dangling.length;
  // As the planner's expectedRemovals, but whatever the gate says (status asks "how much could").
  for (let i = 0; i < tagged.length && freed < plan.targetBytes; i += chunkSize)
    for (const p of tagged.slice(i, i + chunkSize)) {
      freed += p.sizeBytes;
      count++;
    }
  return {
    images,
    bytes: layersBytes,
    removable: { images: plan.removable.length, bytes: sum(plan.removable) },
    reclaimable: { images: count, bytes: freed },
    nonImageBytes: layersBytes === null ? null : Math.max(0, disk.usedBytes - layersBytes),
  };
}
