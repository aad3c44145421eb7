// The offline reference a policy's re-pulls are compared with: Belady's rule with full lookahead.
// When a run needs an image that does not fit, evict the present image whose next use is farthest
// in the future (never again counts as farthest), until it fits. Images of runs live at that moment
// are pinned (their containers hold them; not even an oracle can remove them).
//
// Variant, for variable sizes: plain farthest-next-use ("Belady-size-blind"), evicting on demand
// at the disk's full capacity, ties broken larger first. With unequal sizes the exact optimum is
// NP-hard and this rule is not guaranteed to be optimal (a large image needed soon may be worth
// more than several small ones needed later), so the ratio is against a strong reference, not
// against a proven lower bound. docs/decisions.md.
import type { TraceRun } from "./trace.js";

export interface ReferenceResult {
  pulls: number;
  pulledBytes: number;
  /** Bytes pulled again after the image's first pull. */
  repulledBytes: number;
  /** Runs whose images did not fit even after evicting everything unpinned. */
  overCapacityRuns: number;
  peakBytes: number;
}

export function beladyReference(runs: readonly TraceRun[], capacityBytes: number): ReferenceResult {
  // Each image's use positions (run indices), ascending; a cursor per image.
  const usesOf = new Map<string, number[]>();
  const size = new Map<string, number>();
  runs.forEach((r, i) => {
    for (const img of r.images) {
      size.set(img.id, img.sizeBytes);
      const u = usesOf.get(img.id) ?? [];
      if (u[u.length - 1] !== i) u.push(i);
      usesOf.set(img.id, u);
    }
  });
  const cursor = new Map<string, number>();
  const nextUse = (id: string, after: number): number => {
    const u = usesOf.get(id)!;
    let c = cursor.get(id) ?? 0;
    while (c < u.length && u[c]! <= after) c++;
    cursor.set(id, c);
    return c < u.length ? u[c]! : Number.POSITIVE_INFINITY;
  };

  const present = new Set<string>();
  const everPulled = new Set<string>();
  let used = 0;
  const out: ReferenceResult = {
    pulls: 0,
    pulledBytes: 0,
    repulledBytes: 0,
    overCapacityRuns: 0,
    peakBytes: 0,
  };
  let live: { end: number; ids: string[] }[] = [];

  runs.forEach((r, i) => {
    live = live.filter((l) => l.end > r.t);
    const need = [...new Set(r.images.map((x) => x.id))];
    const pinned = new Set([...need, ...live.flatMap((l) => l.ids)]);
    let over = false;
    for (const id of need) {
      if (present.has(id)) continue;
      const s = size.get(id)!;
      while (used + s > capacityBytes) {
        let victim: string | undefined;
        let victimNext = -1;
        for (const p of present) {
          if (pinned.has(p)) continue;
          const n = nextUse(p, i);
          const better =
            n > victimNext ||
            (n === victimNext &&
              (size.get(p)! > size.get(victim!)! || (size.get(p) === size.get(victim!) && p < victim!)));
          if (victim === undefined || better) {
            victim = p;
            victimNext = n;
          }
        }
        if (victim === undefined) break;
        present.delete(victim);
        used -= size.get(victim)!;
      }
      present.add(id);
      used += s;
      out.pulls++;
      out.pulledBytes += s;
      if (everPulled.has(id)) out.repulledBytes += s;
      everPulled.add(id);
      if (used > capacityBytes) over = true;
      out.peakBytes = Math.max(out.peakBytes, used);
    }
    if (over) out.overCapacityRuns++;
    live.push({ end: r.t + r.durationS * 1000, ids: need });
  });
  return out;
}
