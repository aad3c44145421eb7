// Where pulling is decided. Pure: from the resolved images and what the local store already has,
// decide for each image whether to pull and why. The executor carries the plan out; --dry-run
// prints it.
import type { ServiceImage } from "../recipe/resolve.js";
import { type ImageRef, parseReference, pinKind } from "../model/reference.js";

export type PullPolicy = "auto" | "missing" | "always";

export interface WantedImage {
  ref: string;
  parsed: ImageRef;
  service: string;
  file: string;
  alsoUsedBy: { service: string; file: string }[];
}

export interface PlannedImage extends WantedImage {
  action: "skip" | "pull";
  reason: string;
  /** Image ID already in the store, if any. */
  presentId: string | undefined;
}

/** One entry per distinct image (nginx:1.25 and docker.io/library/nginx:1.25 are one), sorted by ref. */
export function dedupeImages(services: readonly ServiceImage[]): WantedImage[] {
  const byCanonical = new Map<string, WantedImage>();
  for (const s of services) {
    const p = parseReference(s.ref);
    if (!p.ok) throw new Error(`unparsed reference reached the planner: ${s.ref}`); // resolve validates first
    const seen = byCanonical.get(p.ref.canonical);
    if (seen) seen.alsoUsedBy.push({ service: s.service, file: s.file });
    else
      byCanonical.set(p.ref.canonical, {
        ref: s.ref,
        parsed: p.ref,
        service: s.service,
        file: s.file,
        alsoUsedBy: [],
      });
  }
  return [...byCanonical.values()].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

export function planPulls(
  images: readonly WantedImage[],
  presentIds: ReadonlyMap<string, string | undefined>,
  policy: PullPolicy,
  mutableTags: readonly string[],
): PlannedImage[] {
  return images.map((img) => {
    const presentId = presentIds.get(img.ref);
    const present = presentId !== undefined;
    const kind = pinKind(img.parsed, mutableTags);
    let action: "skip" | "pull";
    let reason: string;
    if (policy === "always") {
      action = "pull";
      reason = "policy always";
    } else if (policy === "missing") {
      action = present ? "skip" : "pull";
      reason = present ? "present (policy missing)" : "missing";
    } else if (kind === "mutable-tag") {
      // A moving tag may point elsewhere now; re-pulling an unchanged one costs only a HEAD.
      action = "pull";
      reason = `mutable tag "${img.parsed.tag ?? "latest"}": refresh`;
    } else {
      action = present ? "skip" : "pull";
      reason = present ? (kind === "digest" ? "digest present" : "pinned tag present") : "missing";
    }
    return { ...img, action, reason, presentId };
  });
}
