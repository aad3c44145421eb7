// Where pruning is decided. A pure planner: given the measured disk, the watermarks, the window,
// the live run leases, the images, containers and swarm services the daemon reports, the ledger and
// `now`, it decides the outcome and, for every image, keep (and why) or removable (why, and in
// which order). The executor (execute.ts) carries the plan out; `--dry-run` prints it. Nothing here
// reads a clock, a file or the daemon, so every rule below is table-tested.
//
// Protection (never removed): an image used by a container in any state; named by a swarm
// service's spec or its previous (rollback) spec; matching a `prune.keep` pattern; last used (or
// tagged/pulled) less than `prune.minAge` ago. Last use: the ledger's last use of the image, else
// the image's last tag/pull time (Metadata.LastTagTime), else when imagekeeper first saw the image
// (the ledger's firstSeen, recorded on every prune). An image never seen before is first seen now,
// so a fresh or lost state file makes every image young rather than old: no aggressive first prune.
import type { Config } from "../config/schema.js";
import type { LeaseInfo } from "../lease/lease.js";
import type { Ledger } from "../state/ledger.js";
import { formatBytes, formatDuration } from "../util/duration.js";
import { bytesToReach, type DiskUsage, roundPercent } from "./measure.js";
import { displayNames, globMatch, referenceKey, removalArgs, specNamesImage } from "./names.js";
import { evictionOrder, type OrderClass } from "./order.js";
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
}

export type Gate =
  | { proceed: false; outcome: "no-pressure" | "outside-window" | "deferred"; reason: string }
  | { proceed: true; level: "routine" | "critical"; reason: string };

export const KEEP_CODES = ["in-use", "service", "service-rollback", "keep-pattern", "too-young"] as const;
export type KeepCode = (typeof KEEP_CODES)[number];
export type RemoveCode = "dangling" | OrderClass;

export type LastUseSource = "ledger" | "last-tag-time" | "first-seen";

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
  /** Bytes to free to get below the low watermark. */
  targetBytes: number;
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
): Gate {
  const used = `usage ${roundPercent(disk.usedPercent)}%`;
  if (disk.usedPercent < cfg.highWatermarkPercent)
    return {
      proceed: false,
      outcome: "no-pressure",
      reason: `${used} is below the high watermark (${cfg.highWatermarkPercent}%)`,
    };
  const critical = disk.usedPercent >= cfg.criticalWatermarkPercent;
  if (!window.open && !critical)
    return {
      proceed: false,
      outcome: "outside-window",
      reason: `${used} is above the high watermark (${cfg.highWatermarkPercent}%) but below critical (${cfg.criticalWatermarkPercent}%), and the prune window is closed${window.nextOpen ? ` (next opens ${window.nextOpen})` : ""}`,
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
        reason: `${used} is at or above the high watermark (${cfg.highWatermarkPercent}%)${window.configured ? ", inside the prune window" : ""}`,
      };
}

export interface LedgerView {
  usesMs: number[];
  lastUseMs: number | null;
  /** When imagekeeper first saw the image (the last-resort age). */
  firstSeenMs: number;
  /** Users ("app|role", or "app") that ever used the image. */
  recipes: string[];
  /** Users whose current need set (their latest prepull) includes it. */
  neededBy: string[];
  /** Some user used it, and no current need set includes it. */
  superseded: boolean;
}

/**
 * What the ledger says about each local image (keyed by image ID). A need set's entry names a local
 * image by its reference when that reference names one now, else by the ID recorded at the prepull.
 */
export function ledgerViews(ledger: Ledger, images: readonly ImageFact[]): Map<string, LedgerView> {
  const byKey = new Map<string, string>();
  for (const img of images) for (const r of [...img.repoTags, ...img.repoDigests]) byKey.set(r, img.id);
  const needed = new Map<string, Set<string>>();
  for (const [key, set] of Object.entries(ledger.needs)) {
    for (const i of set.images) {
      const id = byKey.get(referenceKey(i.ref)) ?? i.id;
      if (!id) continue;
      const s = needed.get(id) ?? new Set<string>();
      s.add(key);
      needed.set(id, s);
    }
  }
  const out = new Map<string, LedgerView>();
  for (const img of images) {
    const e = ledger.images[img.id];
    if (!e) continue;
    const usesMs = [...e.uses];
    const users = Object.keys(e.by).sort();
    const neededBy = [...(needed.get(img.id) ?? [])].sort();
    out.set(img.id, {
      usesMs,
      lastUseMs: usesMs.length ? usesMs[usesMs.length - 1]! : null,
      firstSeenMs: e.firstSeen,
      recipes: users,
      neededBy,
      superseded: users.length > 0 && neededBy.length === 0,
    });
  }
  return out;
}

/** The last-use fallback chain: ledger → LastTagTime → first seen (now, if never seen). */
export function lastUseOf(
  img: ImageFact,
  view: LedgerView | undefined,
  nowMs: number,
): { ms: number; source: LastUseSource } {
  if (view?.lastUseMs != null) return { ms: view.lastUseMs, source: "ledger" };
  if (img.lastTagTimeMs !== null) return { ms: img.lastTagTimeMs, source: "last-tag-time" };
  return { ms: view ? view.firstSeenMs : nowMs, source: "first-seen" };
}

const ago = (nowMs: number, ms: number) => formatDuration(Math.max(0, nowMs - ms));
const SOURCE_TEXT: Record<LastUseSource, string> = {
  ledger: "prepull ledger",
  "last-tag-time": "last tag/pull time",
  "first-seen": "first seen by imagekeeper",
};

function protection(
  img: ImageFact,
  names: string[],
  f: PruneFacts,
  cfg: PruneConfig,
  last: { ms: number; source: LastUseSource },
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
  for (const p of cfg.keep) {
    const n = names.find((name) => globMatch(p, name));
    if (n) return { code: "keep-pattern", reason: `${n} matches prune.keep pattern "${p}"` };
  }
  if (nowMs - last.ms < cfg.minAge)
    return {
      code: "too-young",
      reason: `last used ${ago(nowMs, last.ms)} ago (${SOURCE_TEXT[last.source]}), less than prune.minAge ${formatDuration(cfg.minAge)}`,
    };
  if (img.lastTagTimeMs !== null && nowMs - img.lastTagTimeMs < cfg.minAge)
    return {
      code: "too-young",
      reason: `tagged or pulled ${ago(nowMs, img.lastTagTimeMs)} ago, less than prune.minAge ${formatDuration(cfg.minAge)}`,
    };
  return undefined;
}

/** Safety margin for comparing our clock with the daemon's when predicting `until=`. */
const UNTIL_MARGIN_MS = 5 * 60_000;

export function planPrune(f: PruneFacts, cfg: PruneConfig): PrunePlan {
  const nowMs = f.now.getTime();
  const gate = decideGate(f.disk, cfg, f.window, f.leases);
  const views = ledgerViews(f.ledger, f.images);
  const kept: PlannedImage[] = [];
  const dangling: PlannedImage[] = [];
  const tagged: { p: PlannedImage; usesMs: number[]; superseded: boolean; lastMs: number }[] = [];

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
    const prot = protection(img, names, f, cfg, last);
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
        p: { ...base, action: "remove", code: "lru", reason: "" },
        usesMs: view?.usesMs ?? [],
        superseded: view?.superseded ?? false,
        lastMs: last.ms,
      });
    }
  }

  // Dangling: all of them, oldest first (they go together in one step).
  dangling.sort(
    (a, b) => a.lastUse.localeCompare(b.lastUse) || b.sizeBytes - a.sizeBytes || a.id.localeCompare(b.id),
  );

  const byId = new Map(tagged.map((t) => [t.p.id, t]));
  const ordered = evictionOrder(
    tagged.map((t) => ({
      key: t.p.id,
      sizeBytes: t.p.sizeBytes,
      lastUseMs: t.lastMs,
      usesMs: t.usesMs,
      superseded: t.superseded,
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
        reason = `needed before by ${view?.recipes.join(", ")}, by none in its latest prepull; last used ${lastAgo} ago`;
        break;
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
  kept.sort((a, b) => codeRank(a.code) - codeRank(b.code) || a.ref.localeCompare(b.ref));

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

  const targetBytes = bytesToReach(f.disk, cfg.lowWatermarkPercent);
  // The executor removes every dangling image, then tagged ones a chunk at a time until the
  // filesystem is below the low watermark: predict the same by image sizes.
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
