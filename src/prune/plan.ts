// Where pruning is decided. A pure planner: given the measured disk, the thresholds, the window,
// the live run leases, the images, containers and swarm services the daemon reports, the ledger and
// `now`, it decides the outcome and, for every image, keep (and why) or removable (why, and in
// which order). The executor (execute.ts) carries the plan out; `--dry-run` prints it. Nothing here
// reads a clock, a file or the daemon, so every rule below is table-tested.
//
// Protection (never removed): an image used by a container in any state; named by a swarm
// service's spec or its previous (rollback) spec; reserved (about to be used by the prepull that
// triggered this prune, or in an app's prepull less than `prune.reservation` ago, whose deploy may
// not have started); matching a `prune.keep` pattern; or arrived (pulled, tagged, built) less than
// `prune.minAge` ago and not used since (docuum#177). Recently *used* images are not protected: the
// eviction order ranks them (issue 8: protecting every use younger than a day protected a nightly
// sweep's whole working set). An image imagekeeper has never seen arrived, as far as it knows, now:
// a fresh or lost state file makes every image young rather than old, so no aggressive first prune.
//
// Last use: the ledger's last use of the image (whoever saw it: prepull, `imagekeeper watch`), else
// its last arrival (the ledger's, or Metadata.LastTagTime), else when imagekeeper first saw it.
// Every time is clamped to `now`: a clock stepped back must not leave a use in the future.
import type { Config } from "../config/schema.js";
import type { LeaseInfo } from "../lease/lease.js";
import type { Ledger } from "../state/ledger.js";
import { formatBytes, formatDuration } from "../util/duration.js";
import { pressureReason } from "./gap.js";
import { bytesToTarget, type DiskUsage, roundPercent } from "./measure.js";
import { displayNames, globMatch, referenceKey, removalArgs, specNamesImage } from "./names.js";
import { evictionOrder, nextRun, type OrderClass, SESSION_MS, usualGap } from "./order.js";
import type { WindowState } from "./window.js";
import type { PruneOutcome } from "../model/prune-outcome.js";

export type PruneConfig = Config["prune"];

export interface ImageFact {
  id: string;
  /** Without docker's "<none>:<none>" placeholder. */
  repoTags: string[];
  /** Without docker's "<none>@<none>" placeholder. */
  repoDigests: string[];
  sizeBytes: number;
  /** Build time (epoch ms): what `--filter until=` compares; never used as last use. */
  createdMs: number;
  /** Metadata.LastTagTime (epoch ms); null when the daemon reports the zero time. */
  lastTagTimeMs: number | null;
}

export interface ContainerFact {
  id: string;
  name: string;
  imageId: string;
  /** The image as the container was created with it (a name, or a digest-pinned swarm spec). */
  image: string;
  state: string;
}

export interface ServiceFact {
  id: string;
  name: string;
  image: string | null;
  previousImage: string | null;
}

export interface PruneFacts {
  now: Date;
  disk: DiskUsage;
  images: ImageFact[];
  containers: ContainerFact[];
  services: ServiceFact[];
  /** The ledger; an image not in it is first seen `now`. */
  ledger: Ledger;
  window: WindowState;
  /** Live run leases (empty when the caller holds the exclusive prune lock). */
  leases: LeaseInfo[];
  /**
   * Images the caller is about to use: a gap prune before a prepull passes that prepull's images
   * (src/prune/gap-prune.ts; the simulator likewise). Kept with code "reserved" and the reason given.
   */
  reserved?: readonly ReservedImage[];
  /**
   * Bytes the caller is about to add (the triggering prepull's pulls): the gate and the target
   * judge the disk as it will be once they have arrived, so the pull lands below the low watermark.
   */
  incomingBytes?: number;
}

export interface ReservedImage {
  /** Image ID. */
  id: string;
  /** Why, e.g. "about to be used by the prepull of gitea_ci_example (deploy)". */
  reason: string;
}

export type Gate =
  | { proceed: false; outcome: "no-pressure" | "outside-window" | "deferred"; reason: string }
  | { proceed: true; level: "routine" | "critical"; reason: string };

export const KEEP_CODES = [
  "in-use",
  "service",
  "service-rollback",
  "reserved",
  "keep-pattern",
  "too-young",
] as const;
export type KeepCode = (typeof KEEP_CODES)[number];
export type RemoveCode = "dangling" | OrderClass;

export type LastUseSource = "ledger" | "arrival" | "last-tag-time" | "first-seen";

export interface PlannedImage {
  id: string;
  /** The first of `names`: what logs and reports call the image. */
  ref: string;
  /** Names as `docker images` shows them. */
  names: string[];
  sizeBytes: number;
  lastUse: string;
  lastUseSource: LastUseSource;
  action: "keep" | "remove";
  code: KeepCode | RemoveCode;
  /** Human-readable why, without the code. */
  reason: string;
  /** 1-based removal order (dangling first, then the eviction order); null when kept. */
  order: number | null;
  /** Untagged images are removed first, in the dangling step. */
  phase: "dangling" | "tagged";
  predictedNextUse: string | null;
  /** What `docker image rm` is given (no --force, ever). */
  rmArgs: string[];
}

export interface DanglingStep {
  /**
   * "image-prune": `docker image prune --filter until=…` (no --all) removes exactly images the plan
   * removes anyway; "each": some image that command would take is protected here (a swarm
   * service's digest-pinned image is untagged, so docker counts it as dangling: moby#31574), so the
   * removable ones are removed one by one instead; "none": nothing dangling to remove.
   */
  method: "image-prune" | "each" | "none";
  why: string;
}

export interface PrunePlan {
  gate: Gate;
  /** The gate's outcome, or the expected one (pruned / insufficient) by image sizes. */
  outcome: PruneOutcome;
  before: DiskUsage;
  /** Bytes to free to reach the target (below the low watermark, maxFree free), incoming included. */
  targetBytes: number;
  /** The caller's incoming bytes the target made room for (PruneFacts.incomingBytes). */
  incomingBytes: number;
  /** Removable images in removal order. */
  removable: PlannedImage[];
  /** Protected images, by reason then name. */
  kept: PlannedImage[];
  /** How many of `removable` a prune is expected to remove before usage falls below low (by sizes). */
  expectedRemovals: number;
  dangling: DanglingStep;
}

const ZERO_TIME_MS = Date.parse("0001-01-02T00:00:00Z");

/** Metadata.LastTagTime as epoch ms; docker reports "0001-01-01T00:00:00Z" for "never tagged" (pulls on 20.10). */
export function parseLastTagTime(s: string | null | undefined): number | null {
  if (!s) return null;
  const ms = Date.parse(s);
  return Number.isNaN(ms) || ms < ZERO_TIME_MS ? null : ms;
}

export function decideGate(
  disk: DiskUsage,
  cfg: PruneConfig,
  window: WindowState,
  leases: readonly LeaseInfo[],
  incomingBytes = 0,
): Gate {
  const used = `usage ${roundPercent(disk.usedPercent)}%`;
  const pressure = pressureReason(disk, cfg, incomingBytes);
  if (pressure === null)
    return {
      proceed: false,
      outcome: "no-pressure",
      reason: `${used} is below the high watermark (${cfg.highWatermarkPercent}%)${cfg.minFree === null ? "" : ` with at least prune.minFree (${formatBytes(cfg.minFree)}) free`}`,
    };
  const critical = disk.usedPercent >= cfg.criticalWatermarkPercent;
  if (!window.open && !critical)
    return {
      proceed: false,
      outcome: "outside-window",
      reason: `${pressure}, below critical (${cfg.criticalWatermarkPercent}%), and the prune window is closed${window.nextOpen ? ` (next opens ${window.nextOpen})` : ""}`,
    };
  if (leases.length)
    return {
      proceed: false,
      outcome: "deferred",
      reason: `${leases.length} run lease(s) live (${leases
        .map((l) => `${l.id}: pid ${l.pid} ${l.command}`)
        .join("; ")}): a prune never runs during a CI run`,
    };
  return critical
    ? {
        proceed: true,
        level: "critical",
        reason: `${used} is at or above the critical watermark (${cfg.criticalWatermarkPercent}%)`,
      }
    : {
        proceed: true,
        level: "routine",
        reason: `${pressure}${window.configured ? ", inside the prune window" : ""}`,
      };
}

export interface LedgerView {
  /** Use times, ascending, none after now. */
  usesMs: number[];
  lastUseMs: number | null;
  /** The ledger's last arrival (pull, tag, build), none after now; null when none was seen. */
  arrivedMs: number | null;
  /** When imagekeeper first saw the image (the last-resort age). */
  firstSeenMs: number;
  /** Users ("app|role", or "app") that ever used the image. */
  recipes: string[];
  /** Users whose current need set (their latest prepull) includes it. */
  neededBy: string[];
  /**
   * Users that used it and whose need set, written after that use, no longer includes it (a
   * version moved on). Users without a need set (uses seen by `imagekeeper watch` name an app
   * without a role) never drop anything.
   */
  droppedBy: string[];
  /** Users whose need set, renewed less than `prune.reservation` ago, includes it. */
  reservedBy: { user: string; atMs: number }[];
  /**
   * The earliest predicted next run among the users that need it and still run (order.ts
   * `nextRun`); null when none does.
   */
  neededNext: { user: string; atMs: number; gapMs: number } | null;
  /** Dropped by some user and needed by none, and not a recurring run's alternation (below). */
  superseded: boolean;
}

/**
 * An image dropped from a need set in the same session as the dropping user's last use of it, and
 * still within its usual gap, is not superseded: one run needed it and then prepulled something
 * else for the same app and role (an upgrade test run that writes both versions under one role),
 * and its rhythm says the next run will need it again. A real version move drops the image at the
 * user's *next* run, a whole gap after its last use.
 */
function alternating(
  droppedBy: readonly string[],
  by: Record<string, number>,
  needsAt: (user: string) => number,
  usesMs: readonly number[],
  lastUseMs: number | null,
  nowMs: number,
): boolean {
  const gap = usualGap(usesMs);
  if (gap === null || lastUseMs === null || nowMs - lastUseMs >= gap) return false;
  return droppedBy.every((k) => needsAt(k) - Math.min(by[k] ?? 0, nowMs) < SESSION_MS);
}

// referenceKey parses the reference grammar; a ledger names the same references again and again.
const refKeys = new Map<string, string>();
function refKey(ref: string): string {
  let k = refKeys.get(ref);
  // Stryker disable next-line ConditionalExpression: a cache: computing the key again gives the same key
  if (k === undefined) {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a cache: when it is emptied changes no key
    if (refKeys.size > 50_000) refKeys.clear();
    k = referenceKey(ref);
    refKeys.set(ref, k);
  }
  return k;
}

/**
 * What the ledger says about each local image (keyed by image ID), as seen at `nowMs` (times after
 * it are clamped to it; default: no clamp). A need set's entry names a local image by its reference
 * when that reference names one now, else by the ID recorded at the prepull.
 */
export function ledgerViews(
  ledger: Ledger,
  images: readonly ImageFact[],
  nowMs = Number.POSITIVE_INFINITY,
  reservationMs = 0,
): Map<string, LedgerView> {
  const clamp = (t: number) => Math.min(t, nowMs);
  const byKey = new Map<string, string>();
  for (const img of images) for (const r of [...img.repoTags, ...img.repoDigests]) byKey.set(r, img.id);
  const present = new Set(images.map((i) => i.id));
  const needed = new Map<string, string[]>();
  for (const key in ledger.needs) {
    const set = ledger.needs[key]!;
    for (const i of set.images) {
      const id = byKey.get(refKey(i.ref)) ?? i.id;
      if (!id || !present.has(id)) continue;
      const users = needed.get(id);
      if (!users) needed.set(id, [key]);
      else if (!users.includes(key)) users.push(key);
    }
  }
  const needsAt = (k: string) => clamp(ledger.needs[k]?.at ?? 0);
  const runOf = new Map<string, { atMs: number; gapMs: number } | null>();
  const userNext = (k: string) => {
    // Stryker disable next-line ConditionalExpression: a cache: computing the next run again gives the same answer
    if (!runOf.has(k)) {
      const n = ledger.needs[k]!;
      const runs = n.runs.length ? n.runs.map(clamp) : [clamp(n.at)];
      runOf.set(k, Number.isFinite(nowMs) ? nextRun(runs, nowMs) : null);
    }
    return runOf.get(k)!;
  };
  const out = new Map<string, LedgerView>();
  for (const img of images) {
    const e = ledger.images[img.id];
    if (!e) continue;
    const usesMs = e.uses.map(clamp);
    const lastUseMs = usesMs.length ? Math.max(...usesMs) : null;
    const by = e.by;
    const users = Object.keys(by).sort();
    const neededBy = [...(needed.get(img.id) ?? [])].sort();
    const need = new Set(neededBy);
    const droppedBy = users.filter(
      (k) => ledger.needs[k] !== undefined && !need.has(k) && needsAt(k) > clamp(by[k]!),
    );
    // Reserved from the prepull until its deploy: `imagekeeper watch` records the deploy's
    // containers under the bare app (a stack label has no role); from then on they protect the
    // image themselves, and after they are gone the order ranks it.
    const reservedBy = neededBy
      .map((k) => ({ user: k, atMs: needsAt(k) }))
      .filter((r) => {
        if (nowMs - r.atMs >= reservationMs) return false;
        const deployed = by[ledger.needs[r.user]!.app];
        return deployed === undefined || clamp(deployed) < r.atMs;
      });
    let neededNext: LedgerView["neededNext"] = null;
    for (const k of neededBy) {
      const r = userNext(k);
      if (r && (neededNext === null || r.atMs < neededNext.atMs)) neededNext = { user: k, ...r };
    }
    out.set(img.id, {
      usesMs,
      lastUseMs,
      arrivedMs: e.arrived === null ? null : clamp(e.arrived),
      firstSeenMs: clamp(e.firstSeen),
      recipes: users,
      neededBy,
      droppedBy,
      reservedBy,
      neededNext,
      superseded:
        neededBy.length === 0 &&
        droppedBy.length > 0 &&
        !alternating(droppedBy, by, needsAt, usesMs, lastUseMs, nowMs),
    });
  }
  return out;
}

/** The image's last arrival: the ledger's or Metadata.LastTagTime, whichever is later; null if neither. */
export function arrivalOf(img: ImageFact, view: LedgerView | undefined, nowMs: number): number | null {
  const tag = img.lastTagTimeMs === null ? null : Math.min(img.lastTagTimeMs, nowMs);
  const led = view?.arrivedMs ?? null;
  if (tag === null) return led;
  return led === null ? tag : Math.max(tag, led);
}

/** The last-use fallback chain: ledger use → arrival (ledger, LastTagTime) → first seen (now, if never seen). */
export function lastUseOf(
  img: ImageFact,
  view: LedgerView | undefined,
  nowMs: number,
): { ms: number; source: LastUseSource } {
  if (view?.lastUseMs != null) return { ms: Math.min(view.lastUseMs, nowMs), source: "ledger" };
  if (view?.arrivedMs != null && (img.lastTagTimeMs === null || view.arrivedMs >= img.lastTagTimeMs))
    return { ms: Math.min(view.arrivedMs, nowMs), source: "arrival" };
  if (img.lastTagTimeMs !== null) return { ms: Math.min(img.lastTagTimeMs, nowMs), source: "last-tag-time" };
  return { ms: view ? Math.min(view.firstSeenMs, nowMs) : nowMs, source: "first-seen" };
}

/**
 * `prune.minAge` protects arrivals: an image pulled, tagged or built less than minAge ago and not
 * used since. Without any arrival on record and no use, its first sighting stands in for the
 * arrival (now for an image never seen): unknown history is young history.
 */
export function youngArrival(
  img: ImageFact,
  view: LedgerView | undefined,
  nowMs: number,
  minAgeMs: number,
): { ms: number; how: "arrived" | "first-seen" } | null {
  const lastUse = view?.lastUseMs ?? null;
  let arrival = arrivalOf(img, view, nowMs);
  let how: "arrived" | "first-seen" = "arrived";
  if (arrival === null && lastUse === null) {
    arrival = view ? view.firstSeenMs : nowMs;
    how = "first-seen";
  }
  if (arrival === null || nowMs - arrival >= minAgeMs) return null;
  if (lastUse !== null && lastUse >= arrival) return null;
  return { ms: arrival, how };
}

const ago = (nowMs: number, ms: number) => formatDuration(Math.max(0, nowMs - ms));
const SOURCE_TEXT: Record<LastUseSource, string> = {
  ledger: "ledger",
  arrival: "last pull/tag/build",
  "last-tag-time": "last tag/pull time",
  "first-seen": "first seen by imagekeeper",
};

function protection(
  img: ImageFact,
  names: string[],
  f: PruneFacts,
  cfg: PruneConfig,
  view: LedgerView | undefined,
  reserved: ReadonlyMap<string, string>,
): { code: KeepCode; reason: string } | undefined {
  const nowMs = f.now.getTime();
  const users = f.containers.filter((c) => c.imageId === img.id);
  if (users.length)
    return {
      code: "in-use",
      reason: `used by container ${users
        .slice(0, 3)
        .map((c) => `${c.name} (${c.state})`)
        .join(", ")}${users.length > 3 ? ` and ${users.length - 3} more` : ""}`,
    };
  const svc = f.services.find((s) => s.image !== null && specNamesImage(s.image, img));
  if (svc)
    return { code: "service", reason: `named by the spec of swarm service ${svc.name} (${svc.image})` };
  const prev = f.services.find((s) => s.previousImage !== null && specNamesImage(s.previousImage, img));
  if (prev)
    return {
      code: "service-rollback",
      reason: `named by the previous (rollback) spec of swarm service ${prev.name} (${prev.previousImage})`,
    };
  const r = reserved.get(img.id);
  if (r) return { code: "reserved", reason: r };
  const recent = view?.reservedBy[0];
  if (recent)
    return {
      code: "reserved",
      reason: `in the latest prepull of ${recent.user}, ${ago(nowMs, recent.atMs)} ago: its deploy may not have started (prune.reservation ${formatDuration(cfg.reservation)})`,
    };
  for (const p of cfg.keep) {
    const n = names.find((name) => globMatch(p, name));
    if (n) return { code: "keep-pattern", reason: `${n} matches prune.keep pattern "${p}"` };
  }
  const young = youngArrival(img, view, nowMs, cfg.minAge);
  if (young)
    return {
      code: "too-young",
      reason:
        young.how === "arrived"
          ? `pulled, tagged or built ${ago(nowMs, young.ms)} ago and not used since, less than prune.minAge ${formatDuration(cfg.minAge)}`
          : `first seen by imagekeeper ${ago(nowMs, young.ms)} ago with no use or arrival on record, less than prune.minAge ${formatDuration(cfg.minAge)}`,
    };
  return undefined;
}

/** Code-unit order: deterministic whatever the locale, and cheap (the simulator plans thousands of times). */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Safety margin for comparing our clock with the daemon's when predicting `until=`. */
const UNTIL_MARGIN_MS = 5 * 60_000;

export function planPrune(f: PruneFacts, cfg: PruneConfig): PrunePlan {
  const nowMs = f.now.getTime();
  const incoming = Math.max(0, f.incomingBytes ?? 0);
  const gate = decideGate(f.disk, cfg, f.window, f.leases, incoming);
  const views = ledgerViews(f.ledger, f.images, nowMs, cfg.reservation);
  const reserved = new Map((f.reserved ?? []).map((r) => [r.id, r.reason]));
  const kept: PlannedImage[] = [];
  const dangling: PlannedImage[] = [];
  const tagged: {
    p: PlannedImage;
    usesMs: number[];
    superseded: boolean;
    neededNextMs: number | null;
    lastMs: number;
  }[] = [];

  for (const img of f.images) {
    const names = displayNames(img.repoTags, img.repoDigests);
    const view = views.get(img.id);
    const last = lastUseOf(img, view, nowMs);
    const base = {
      id: img.id,
      ref: names[0]!,
      names,
      sizeBytes: img.sizeBytes,
      lastUse: new Date(last.ms).toISOString(),
      lastUseSource: last.source,
      phase: img.repoTags.length ? ("tagged" as const) : ("dangling" as const),
      predictedNextUse: null,
      rmArgs: removalArgs(img),
      order: null,
    };
    const prot = protection(img, names, f, cfg, view, reserved);
    if (prot) {
      kept.push({ ...base, action: "keep", ...prot });
    } else if (base.phase === "dangling") {
      dangling.push({
        ...base,
        action: "remove",
        code: "dangling",
        reason: `untagged, last used ${ago(nowMs, last.ms)} ago (${SOURCE_TEXT[last.source]})`,
      });
    } else {
      tagged.push({
        // Stryker disable next-line StringLiteral: a placeholder: every removable tagged image gets its reason from its class below
        p: { ...base, action: "remove", code: "lru", reason: "" },
        usesMs: view?.usesMs ?? [],
        superseded: view?.superseded ?? false,
        neededNextMs: view?.neededNext?.atMs ?? null,
        lastMs: last.ms,
      });
    }
  }

  // Dangling: all of them, oldest first (they go together in one step).
  dangling.sort((a, b) => cmp(a.lastUse, b.lastUse) || b.sizeBytes - a.sizeBytes || cmp(a.id, b.id));

  const byId = new Map(tagged.map((t) => [t.p.id, t]));
  const ordered = evictionOrder(
    tagged.map((t) => ({
      key: t.p.id,
      sizeBytes: t.p.sizeBytes,
      lastUseMs: t.lastMs,
      usesMs: t.usesMs,
      superseded: t.superseded,
      neededNextMs: t.neededNextMs,
    })),
    nowMs,
  );
  const removableTagged = ordered.map((o) => {
    const t = byId.get(o.key)!;
    const view = views.get(o.key);
    const lastAgo = ago(nowMs, t.lastMs);
    let reason: string;
    switch (o.class) {
      case "superseded":
        reason = `needed before by ${view?.droppedBy.join(", ")}, by none in its latest prepull; last used ${lastAgo} ago`;
        break;
      case "needed": {
        const n = view!.neededNext!;
        const dt = n.atMs - nowMs;
        reason = `needed by ${n.user}, whose next run is expected ${dt > 0 ? `in ${formatDuration(dt)}` : "now (due)"} (usual gap ${formatDuration(n.gapMs)}); last used ${lastAgo} ago`;
        break;
      }
      case "overdue":
        reason = `overdue: usual gap between uses ${formatDuration(o.gapMs!)}, last used ${lastAgo} ago`;
        break;
      case "predicted": {
        const dt = o.predictedNextUseMs! - nowMs;
        reason = `next use predicted ${dt >= 0 ? `in ${formatDuration(dt)}` : `${formatDuration(-dt)} ago (due)`} (usual gap ${formatDuration(o.gapMs!)}, last used ${lastAgo} ago)`;
        break;
      }
      case "lru":
        reason = `no usage history; last used ${lastAgo} ago (${SOURCE_TEXT[t.p.lastUseSource]})`;
        break;
    }
    return {
      ...t.p,
      code: o.class,
      reason,
      predictedNextUse: o.predictedNextUseMs === null ? null : new Date(o.predictedNextUseMs).toISOString(),
    };
  });
  const removable = [...dangling, ...removableTagged].map((p, i) => ({ ...p, order: i + 1 }));

  const codeRank = (c: string) => KEEP_CODES.indexOf(c as KeepCode);
  kept.sort((a, b) => codeRank(a.code) - codeRank(b.code) || cmp(a.ref, b.ref));

  // The dangling step: docker's own prune when it would take nothing this plan protects.
  const danglingIds = new Set(dangling.map((d) => d.id));
  const containerImages = new Set(f.containers.map((c) => c.imageId));
  const dockerWouldTake = f.images.filter(
    (i) =>
      i.repoTags.length === 0 &&
      !containerImages.has(i.id) &&
      i.createdMs <= nowMs - cfg.minAge + UNTIL_MARGIN_MS,
  );
  const protectedTaken = dockerWouldTake.filter((i) => !danglingIds.has(i.id));
  const danglingStep: DanglingStep =
    dangling.length === 0
      ? { method: "none", why: "no removable untagged image" }
      : protectedTaken.length === 0
        ? {
            method: "image-prune",
            why: "docker image prune (without --all) takes only images this plan removes",
          }
        : {
            method: "each",
            why: `docker image prune would also take protected untagged image(s) ${protectedTaken
              .map((i) => displayNames(i.repoTags, i.repoDigests)[0])
              .join(
                ", ",
              )} (digest-pinned swarm images are untagged, moby#31574): removing one by one instead`,
          };

  const targetBytes = bytesToTarget(f.disk, cfg, incoming);
  // The executor removes every dangling image, then tagged ones a chunk at a time until the
  // filesystem reaches the target: predict the same by image sizes.
  let expectedRemovals = dangling.length;
  let freed = dangling.reduce((n, r) => n + r.sizeBytes, 0);
  for (let i = 0; i < removableTagged.length && freed < targetBytes; i += cfg.chunkSize) {
    for (const r of removableTagged.slice(i, i + cfg.chunkSize)) {
      freed += r.sizeBytes;
      expectedRemovals++;
    }
  }
  const outcome: PruneOutcome = !gate.proceed
    ? gate.outcome
    : freed >= targetBytes
      ? "pruned"
      : "insufficient";
  return {
    gate,
    outcome,
    before: f.disk,
    targetBytes,
    incomingBytes: incoming,
    removable,
    kept,
    expectedRemovals: gate.proceed ? expectedRemovals : 0,
    dangling: danglingStep,
  };
}

/** "superseded (#3): …" for removable images, "in-use: …" for kept ones. */
export function reasonText(p: PlannedImage): string {
  return p.order !== null ? `${p.code} (#${p.order}): ${p.reason}` : `${p.code}: ${p.reason}`;
}

/** What blocked a prune that could not reach the low watermark: kept images by reason. */
export function blockedSummary(
  kept: readonly PlannedImage[],
): { code: string; images: number; bytes: number }[] {
  const m = new Map<string, { images: number; bytes: number }>();
  for (const k of kept) {
    const e = m.get(k.code) ?? { images: 0, bytes: 0 };
    e.images++;
    e.bytes += k.sizeBytes;
    m.set(k.code, e);
  }
  return [...m].map(([code, v]) => ({ code, ...v }));
}

export function describeBlocked(kept: readonly PlannedImage[]): string {
  const s = blockedSummary(kept);
  return s.length
    ? s.map((b) => `${b.code}: ${b.images} image(s), ${formatBytes(b.bytes)}`).join("; ")
    : "no image left to remove";
}
