// Report entries made from a plan without pulling: the fields every entry takes from its planned
// image, an image the plan skips, a dry run's entry, and an image the quota check stopped.
import type { PlannedImage } from "./plan.js";
import { type QuotaCheck, shortfallMessage } from "./quota.js";
import type { ImageResult } from "./report.js";

/** The plan's own fields of an image's report entry. */
export function resultBase(
  img: PlannedImage,
): Pick<ImageResult, "ref" | "service" | "file" | "reason"> & Partial<ImageResult> {
  return {
    ref: img.ref,
    service: img.service,
    file: img.file,
    reason: img.reason,
    ...(img.alsoUsedBy.length ? { alsoUsedBy: img.alsoUsedBy } : {}),
    ...(img.digest ? { digest: img.digest } : {}),
    ...(img.warning ? { warning: img.warning } : {}),
  };
}

/** An image the plan skips: present, nothing attempted. */
export function presentResult(img: PlannedImage): ImageResult {
  return {
    ...resultBase(img),
    action: "present",
    attempts: 0,
    durationMs: 0,
    ...(img.presentId ? { id: img.presentId } : {}),
  };
}

/** `--dry-run`: what would be pulled is not-attempted, with a "would pull" reason. */
export function dryRunResult(img: PlannedImage): ImageResult {
  if (img.action === "skip") return presentResult(img);
  return {
    ...resultBase(img),
    action: "not-attempted",
    attempts: 0,
    durationMs: 0,
    reason: `would pull: ${img.reason}`,
  };
}

/**
 * The quota check stopped the prepull before any pull: an image it would have pulled from a
 * registry short of quota failed as rate-limited; one from another registry was not attempted.
 */
export function quotaStopResult(img: PlannedImage, short: readonly QuotaCheck[]): ImageResult {
  if (img.action === "skip") return presentResult(img);
  const mine = short.find((c) => c.registry === img.parsed.domain);
  if (mine)
    return {
      ...resultBase(img),
      action: "failed",
      attempts: 0,
      durationMs: 0,
      errorClass: "rate-limited",
      error: shortfallMessage(mine),
    };
  return {
    ...resultBase(img),
    action: "not-attempted",
    attempts: 0,
    durationMs: 0,
    error: `not started: the pull quota of ${short.map((c) => c.registry).join(", ")} is too small for this prepull`,
  };
}
