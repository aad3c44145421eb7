// What imagekeeper learns about images as time passes, whoever saw it: a prepull, the engine's
// event stream (`imagekeeper watch`), a prune's listing. Every observation reaches the ledger
// through one function (src/state/ledger.ts `recordLedger`) as a LedgerChange, so "an image was
// used" means the same thing whichever part of the program saw it. Times are epoch milliseconds.

/** Who saw the use. */
export type UseSource =
  /** `imagekeeper prepull` resolved the image for a deploy (present or pulled). */
  | "prepull"
  /** A container was created or started from the image (engine event). */
  | "container"
  /** At watch start: a container that exists now uses the image (reconciliation). */
  | "reconcile";

export interface ImageUse {
  at: number;
  /** Image ID (sha256:…). */
  id: string;
  /** The reference it was used under, as written (compose file, `docker run` argument), if known. */
  ref?: string | undefined;
  /**
   * The app that used it, as its swarm stack name (the app's domain with dots made underscores:
   * abra's STACK_NAME, the `com.docker.stack.namespace` label of its containers), if known.
   */
  app?: string | undefined;
  /** What the use was for (e.g. "deploy", "upgrade"), if known: a prepull says, an event does not. */
  role?: string | undefined;
  source: UseSource;
}

/** An image appeared or was (re)named: pulled, tagged, built, loaded. `prune.minAge` protects arrivals. */
export interface ImageArrival {
  at: number;
  id: string;
  ref?: string | undefined;
  how: "pull" | "tag" | "build" | "load" | "import";
  /** Its size in bytes, if the observer knows it. */
  sizeBytes?: number | undefined;
}

/** How a prepull chose the recipe version it resolved (issue 9: as abra chooses it). */
export type VersionSource = "pinned" | "ref" | "chaos" | "working-tree";

/**
 * What one app needs for one role now: written by each successful prepull, it replaces that
 * app+role's previous set. An image every app+role has dropped from its current set is a candidate
 * for "superseded".
 */
export interface NeedSet {
  at: number;
  app: string;
  role: string;
  recipe: string;
  version: string | null;
  versionSource: VersionSource;
  images: { ref: string; id: string | null }[];
}

/** A complete listing of the images present now (prune and watch list them). */
export interface Sighting {
  at: number;
  present: readonly string[];
  /** Sizes in bytes by image ID, for the images whose size the lister knows (docker's Size). */
  sizes?: Readonly<Record<string, number>>;
}

/** One change to the ledger: any mix of observations, applied together under the ledger's lock. */
export interface LedgerChange {
  uses?: readonly ImageUse[];
  arrivals?: readonly ImageArrival[];
  needs?: readonly NeedSet[];
  sighting?: Sighting;
  /** Images seen removed (engine `delete` events), by ID. */
  gone?: readonly { at: number; id: string }[];
}

/** The key of a NeedSet and of an image's per-user last use: "app|role", or "app" when no role. */
export function userKey(app: string, role: string | undefined): string {
  return role ? `${app}|${role}` : app;
}
