// A prepull plan's image for unit tests (src/pull/plan.ts PlannedImage): parsed with the real
// reference grammar, to be pulled for a mutable tag, used by the service "web" in compose.yml,
// with `over` on top.
import { parseReference } from "../../src/model/reference.js";
import type { PlannedImage } from "../../src/pull/plan.js";

export function plannedImage(ref: string, over: Partial<PlannedImage> = {}): PlannedImage {
  const p = parseReference(ref);
  if (!p.ok) throw new Error(p.reason);
  return {
    ref,
    parsed: p.ref,
    service: "web",
    file: "compose.yml",
    alsoUsedBy: [],
    action: "pull",
    reason: "mutable tag",
    presentId: undefined,
    digest: undefined,
    warning: undefined,
    ...over,
  };
}
