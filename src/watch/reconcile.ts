// Reconciliation: what the containers and images present now say, as one ledger change. Run at
// start and after every reconnect, because the daemon's event log is short and in memory only
// (position.ts): whatever happened while watch was away and no longer shows in the replay still
// shows here, unless it left no trace (a `docker run --rm` that came and went). Pure.
//
// - A running (or paused, restarting) container is a use of its image now.
// - A stopped container (exited, created, dead) is a use at its last activity: when it last
//   finished, started or was created, whichever is latest. Not now: a container that exited a
//   month ago is not a reason to think its image was used today. (Its image is protected by the
//   prune policy anyway while the container exists; this use dates the image once it is removed.)
// - Every image present is sighted (first and last seen; absent ones are gone).
import type { ImageUse, LedgerChange } from "../model/use.js";
import { STACK_LABEL } from "./events.js";

export interface ContainerSeen {
  id: string;
  /** Image ID. */
  imageId: string;
  /** The image as the container was created with it. */
  image: string;
  state: string;
  labels: Record<string, string>;
  createdMs: number | null;
  startedMs: number | null;
  finishedMs: number | null;
}

const ACTIVE = new Set(["running", "paused", "restarting"]);

/** A docker timestamp in ms; null for the zero time ("0001-01-01T00:00:00Z": never). */
export function dockerTime(s: string | null | undefined): number | null {
  if (!s) return null;
  const ms = Date.parse(s);
  return Number.isNaN(ms) || ms <= 0 ? null : ms;
}

/** When a container last used its image: now while it is active, else its last activity. */
export function lastActivity(c: ContainerSeen, nowMs: number): number | null {
  if (ACTIVE.has(c.state)) return nowMs;
  const times = [c.createdMs, c.startedMs, c.finishedMs].filter((t): t is number => t !== null);
  return times.length ? Math.max(...times) : null;
}

export function reconcileChange(
  containers: readonly ContainerSeen[],
  imageIds: readonly string[],
  nowMs: number,
): LedgerChange {
  const uses: ImageUse[] = [];
  for (const c of containers) {
    const at = lastActivity(c, nowMs);
    if (at === null || !c.imageId) continue;
    const app = c.labels[STACK_LABEL];
    uses.push({
      at,
      id: c.imageId,
      ref: c.image && !c.image.startsWith("sha256:") ? c.image : undefined,
      app: app ? app : undefined,
      source: "reconcile",
    });
  }
  return { uses, sighting: { at: nowMs, present: [...imageIds] } };
}
