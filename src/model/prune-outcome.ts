// The outcomes a prune can end with. Shared by the planner that decides them (src/prune/), the
// state file that records the last one (src/state/last-prune.ts) and the metrics: a name the store
// and the metrics know without depending on the policy.
export const OUTCOMES = ["no-pressure", "deferred", "outside-window", "pruned", "insufficient"] as const;
export type PruneOutcome = (typeof OUTCOMES)[number];
