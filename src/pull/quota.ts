// Docker Hub's pull quota, checked before the first pull: a prepull that would run out halfway
// leaves some images pulled and the rest failing as rate-limited, and the deploy after it failing
// the same way. Pure: the plan's pulls per registry against the lowest `remaining` its answers
// carried. Each pull of an image costs one (a version check, the HEAD, costs nothing).
// https://docs.docker.com/docker-hub/usage/pulls/
import type { QuotaObservation } from "../registry/client.js";
import type { PlannedImage } from "./plan.js";

export interface QuotaCheck {
  registry: string;
  endpoint: string;
  limit: number;
  remaining: number;
  windowSeconds: number | undefined;
  /** Epoch ms by which the window has reset (reset header, else the answer's time + the window). */
  resetBy: number | undefined;
  source: string | undefined;
  /** Pulls this prepull needs from the registry. */
  needed: number;
}

/** Per registry with a known quota: what the plan needs against what remains. */
export function checkQuotas(
  plan: readonly PlannedImage[],
  quotas: readonly QuotaObservation[],
): QuotaCheck[] {
  const lowest = new Map<string, QuotaObservation>();
  for (const q of quotas) {
    const seen = lowest.get(q.registry);
    if (!seen || q.remaining < seen.remaining) lowest.set(q.registry, q);
  }
  return [...lowest.values()]
    .map((q) => {
      const resetIn = q.resetSeconds ?? q.windowSeconds;
      return {
        registry: q.registry,
        endpoint: q.endpoint,
        limit: q.limit,
        remaining: q.remaining,
        windowSeconds: q.windowSeconds,
        resetBy: resetIn === undefined ? undefined : q.at + resetIn * 1000,
        source: q.source,
        needed: plan.filter((p) => p.action === "pull" && p.parsed.domain === q.registry).length,
      };
    })
    .sort((a, b) => {
      if (a.registry < b.registry) return -1;
      // Registries are Map keys, never equal here, and V8's sort reads only whether the comparison
      // is negative: 1 and 0 are the same answer.
      // Stryker disable next-line ConditionalExpression,EqualityOperator: no input tells 1 from 0 here (see above)
      return a.registry > b.registry ? 1 : 0;
    });
}

/** The checks a prepull cannot satisfy: more pulls needed than remain. */
export const shortfalls = (checks: readonly QuotaCheck[]): QuotaCheck[] =>
  checks.filter((c) => c.needed > c.remaining);

function hours(s: number): string {
  return s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/** One sentence for the report and the error line (the classifier reads it as rate-limited). */
export function shortfallMessage(c: QuotaCheck): string {
  const window = c.windowSeconds === undefined ? "" : ` per ${hours(c.windowSeconds)}`;
  const reset =
    c.resetBy === undefined ? "" : `; the window has reset by ${new Date(c.resetBy).toISOString()}`;
  const who = c.source ? `, counted against ${c.source}` : "";
  return `pull rate limit: this prepull needs ${c.needed} pull${c.needed === 1 ? "" : "s"} from ${c.registry}, ${c.remaining} of ${c.limit}${window} remain${who}${reset}; nothing was pulled`;
}
