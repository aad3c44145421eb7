// The ledger: what imagekeeper knows of each image's history. Keyed by image ID: when it was
// first and last seen, when it last arrived (pulled, tagged, built), when it was used and by which
// app and role, and what each app+role needs now. Prepull, `imagekeeper watch` and prune all write
// it through `recordLedger` (one path for "an image was used", whoever saw it, src/model/use.ts);
// prune reads it for last use, the usual gap between uses and "superseded".
//
// One JSON document, changed under a short lock and replaced atomically, so concurrent writers are
// safe. It stays bounded: uses are capped per image, images gone for longer than the horizon are
// forgotten, and so are app+role sets not renewed within it. A time in the future (a clock stepped
// back since) is clamped to now when written. A damaged file is never fatal: it is set aside
// (ledger.json.damaged-TIME), reported, and a fresh ledger started; a version-1 ledger is converted.
import { renameSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { ImageArrival, ImageUse, LedgerChange, NeedSet } from "../model/use.js";
import { userKey } from "../model/use.js";
import { writeFileAtomic } from "./atomic.js";
import { ensureSharedDir } from "./dirs.js";
import { withFileLock } from "./lockfile.js";
import { readStateFile } from "./stateFile.js";

/** Use times kept per image: enough to estimate its usual gap. */
export const MAX_USES = 32;
/** Prepull times kept per app+role need set. */
export const MAX_RUNS = 12;
/** Names remembered per image. */
export const MAX_REFS = 8;
/** App+role last uses remembered per image. */
export const MAX_USERS = 16;
/** Uses closer together than this are one observation (a container's create and start). */
export const SAME_USE_MS = 60_000;
/** Default horizon: forget images gone, and app+role sets unused, for longer than this. */
export const DEFAULT_HORIZON_MS = 30 * 86_400_000;

const ms = z.number().int().nonnegative();

export const imageEntrySchema = z.object({
  /** Names it was used or arrived under, most recent last. */
  refs: z.array(z.string()),
  /** Use times, ascending. */
  uses: z.array(ms),
  /** The last arrival (pull, tag, build, load) seen; null when none was seen. */
  arrived: ms.nullable(),
  firstSeen: ms,
  /** The last time it was seen present. */
  lastSeen: ms,
  /** When it was first seen absent since it was last present; null while present. */
  gone: ms.nullable(),
  /** Last use per user key ("app|role" or "app", src/model/use.ts userKey). */
  by: z.record(z.string(), ms),
  /** Its size when last listed or pulled (for `imagekeeper simulate --from-ledger`), if known. */
  size: ms.optional(),
});
export type ImageEntry = z.output<typeof imageEntrySchema>;

export const needSetSchema = z.object({
  at: ms,
  app: z.string(),
  role: z.string(),
  recipe: z.string(),
  version: z.string().nullable(),
  versionSource: z.enum(["pinned", "ref", "chaos", "working-tree"]),
  images: z.array(z.object({ ref: z.string(), id: z.string().nullable() })),
  /**
   * This app+role's prepull times, ascending (at most MAX_RUNS, a minute apart at least): its
   * rhythm, from which prune predicts when the images it needs are needed next. Absent in ledgers
   * written before it existed.
   */
  runs: z.array(ms).default([]),
});

export const ledgerSchema = z.object({
  version: z.literal(2),
  images: z.record(z.string(), imageEntrySchema),
  /** Per user key: what that app needs for that role now. */
  needs: z.record(z.string(), needSetSchema),
});
export type Ledger = z.output<typeof ledgerSchema>;

export function emptyLedger(): Ledger {
  return { version: 2, images: {}, needs: {} };
}

export interface LedgerRead {
  ledger: Ledger;
  /** Set when the file existed but could not be used; it was then set aside. */
  problem?: string;
}

export function ledgerPath(stateDir: string): string {
  return path.join(stateDir, "ledger.json");
}

// Version 1 (imagekeeper 0.1): images keyed by reference, ISO times, needs keyed by recipe.
const v1Schema = z.object({
  version: z.literal(1),
  recipes: z.record(
    z.string(),
    z.object({ lastPrepull: z.string(), ref: z.string().nullable(), images: z.array(z.string()) }),
  ),
  images: z.record(
    z.string(),
    z.object({ id: z.string().nullable(), uses: z.array(z.string()), recipes: z.array(z.string()) }),
  ),
  firstSeen: z.record(z.string(), z.string()),
});

/** A version-1 ledger in today's shape: uses and first sightings kept, recipes become apps. */
export function fromV1(v1: z.output<typeof v1Schema>): Ledger {
  const t = (s: string) => Math.max(0, Date.parse(s) || 0);
  const l = emptyLedger();
  const idOf = new Map<string, string>();
  for (const [ref, e] of Object.entries(v1.images)) {
    if (!e.id) continue;
    idOf.set(ref, e.id);
    const uses = e.uses.map(t);
    const first = v1.firstSeen[e.id] ? t(v1.firstSeen[e.id]!) : (uses[0] ?? 0);
    const entry = (l.images[e.id] ??= {
      refs: [],
      uses: [],
      arrived: null,
      firstSeen: first,
      lastSeen: first,
      gone: null,
      by: {},
    });
    entry.refs = [...new Set([...entry.refs, ref])].slice(-MAX_REFS);
    entry.uses = compactUses([...entry.uses, ...uses]);
    entry.lastSeen = Math.max(entry.lastSeen, ...uses);
    for (const r of e.recipes) {
      const k = userKey(r, "deploy");
      entry.by[k] = Math.max(entry.by[k] ?? 0, ...uses);
    }
  }
  for (const [recipe, r] of Object.entries(v1.recipes)) {
    l.needs[userKey(recipe, "deploy")] = {
      at: t(r.lastPrepull),
      app: recipe,
      role: "deploy",
      recipe,
      version: r.ref,
      versionSource: r.ref ? "ref" : "working-tree",
      images: r.images.map((ref) => ({ ref, id: idOf.get(ref) ?? null })),
      runs: [t(r.lastPrepull)],
    };
  }
  return l;
}

const anyVersion = z.union([ledgerSchema, v1Schema]).transform((l) => (l.version === 1 ? fromV1(l) : l));

/** Read the ledger; a missing file is an empty ledger, a damaged one is reported (not thrown). */
export function readLedger(stateDir: string): LedgerRead {
  const { value, problem } = readStateFile(ledgerPath(stateDir), anyVersion, emptyLedger);
  return problem ? { ledger: value, problem } : { ledger: value };
}

export interface LedgerOptions {
  /** Forget images gone, and app+role sets not renewed, for longer than this. */
  horizonMs?: number;
}

/** Use times ascending, uses within SAME_USE_MS of the previous kept one dropped, at most MAX_USES. */
export function compactUses(uses: readonly number[]): number[] {
  const sorted = [...uses].sort((a, b) => a - b);
  const out: number[] = [];
  for (const u of sorted) if (out.length === 0 || u - out[out.length - 1]! >= SAME_USE_MS) out.push(u);
  return out.slice(-MAX_USES);
}

/**
 * The ledger being changed: copy-on-write over the input, which is never mutated. Only entries a
 * change touches are copied, so a change costs what it touches, not the ledger's size (the
 * simulator applies tens of thousands of changes to one ledger).
 */
class Draft {
  readonly l: Ledger;
  private readonly copied = new Set<string>();
  /** `inPlace`: change `base` itself (applyChangeInPlace). */
  constructor(
    base: Ledger,
    private readonly inPlace = false,
  ) {
    this.l = inPlace ? base : { version: 2, images: { ...base.images }, needs: { ...base.needs } };
  }

  /** The entry for `id`, writable; created first seen at `at` when missing. */
  entry(id: string, at: number): ImageEntry {
    const e = this.l.images[id];
    if (!e) {
      this.copied.add(id);
      return (this.l.images[id] = {
        refs: [],
        uses: [],
        arrived: null,
        firstSeen: at,
        lastSeen: at,
        gone: null,
        by: {},
      });
    }
    if (this.inPlace || this.copied.has(id)) return e;
    this.copied.add(id);
    return (this.l.images[id] = { ...e, refs: [...e.refs], uses: [...e.uses], by: { ...e.by } });
  }
}

function addRef(e: ImageEntry, ref: string | undefined): void {
  if (!ref) return;
  e.refs = [...e.refs.filter((r) => r !== ref), ref].slice(-MAX_REFS);
}

/** Keep the MAX_USERS most recent user keys. */
function capUsers(by: Record<string, number>): Record<string, number> {
  const entries = Object.entries(by);
  if (entries.length <= MAX_USERS) return by;
  return Object.fromEntries(
    entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_USERS),
  );
}

function applyUse(d: Draft, u: ImageUse, at: number): void {
  const e = d.entry(u.id, at);
  e.uses = compactUses([...e.uses, at]);
  addRef(e, u.ref);
  e.lastSeen = Math.max(e.lastSeen, at);
  e.gone = null;
  if (u.app) {
    const k = userKey(u.app, u.role);
    e.by[k] = Math.max(e.by[k] ?? 0, at);
    e.by = capUsers(e.by);
  }
}

function applyArrival(d: Draft, a: ImageArrival, at: number): void {
  const e = d.entry(a.id, at);
  if (a.sizeBytes !== undefined) e.size = a.sizeBytes;
  e.arrived = Math.max(e.arrived ?? 0, at);
  addRef(e, a.ref);
  e.lastSeen = Math.max(e.lastSeen, at);
  e.gone = null;
}

function applyNeeds(l: Ledger, n: NeedSet, at: number): void {
  const k = userKey(n.app, n.role);
  const prev = l.needs[k];
  // An older set never replaces a newer one (two prepulls finishing out of order).
  if (prev && prev.at > at) return;
  l.needs[k] = {
    at,
    app: n.app,
    role: n.role,
    recipe: n.recipe,
    version: n.version,
    versionSource: n.versionSource,
    images: n.images.map((i) => ({ ref: i.ref, id: i.id })),
    runs: compactUses([...(prev?.runs ?? []), at]).slice(-MAX_RUNS),
  };
}

/** Does the entry hold a time after `now` (recorded before the clock stepped back)? */
function holdsFuture(e: ImageEntry, now: number): boolean {
  for (const u of e.uses) if (u > now) return true;
  if ((e.arrived ?? 0) > now || e.lastSeen > now || e.firstSeen > now) return true;
  for (const k in e.by) if (e.by[k]! > now) return true;
  return false;
}

/** Ledgers known to hold no time after the given one (every change clamps to its `now`). */
const settledAt = new WeakMap<Ledger, number>();

/**
 * Pure: the ledger after `change`, observed at `now`. Times after `now` are clamped to it (a clock
 * stepped back must not leave uses in the future, which would make an image look needed forever).
 * Then the ledger is compacted: images gone for longer than the horizon, and app+role sets older
 * than it, are forgotten. The input is not changed.
 */
export function applyChange(
  ledger: Ledger,
  change: LedgerChange,
  now: number,
  opts: LedgerOptions = {},
): Ledger {
  return apply(new Draft(ledger), ledger, change, now, opts);
}

/**
 * `applyChange` for the sole owner of a ledger in memory (the simulator): the same change, made to
 * `ledger` itself, which is returned.
 */
export function applyChangeInPlace(
  ledger: Ledger,
  change: LedgerChange,
  now: number,
  opts: LedgerOptions = {},
): Ledger {
  return apply(new Draft(ledger, true), ledger, change, now, opts);
}

function apply(d: Draft, base: Ledger, change: LedgerChange, now: number, opts: LedgerOptions): Ledger {
  const horizon = opts.horizonMs ?? DEFAULT_HORIZON_MS;
  const clamp = (t: number) => Math.max(0, Math.min(t, now));
  const settled = settledAt.get(base);
  const l = d.l;
  // Clock safety for what was recorded before a step back: nothing stays in the future. (Skipped
  // when this ledger came from a change at or before `now`: everything in it is clamped already.)
  // First, so that a need set from "the future" cannot refuse every newer one.
  if (settled === undefined || settled > now) {
    for (const id in l.images) {
      if (!holdsFuture(l.images[id]!, now)) continue;
      const e = d.entry(id, now);
      e.uses = compactUses(e.uses.map(clamp));
      if (e.arrived !== null && e.arrived > now) e.arrived = now;
      if (e.lastSeen > now) e.lastSeen = now;
      if (e.firstSeen > now) e.firstSeen = now;
      for (const [k, t] of Object.entries(e.by)) if (t > now) e.by[k] = now;
    }
    for (const k in l.needs) {
      const n = l.needs[k]!;
      if (n.at > now || n.runs.some((t) => t > now))
        l.needs[k] = { ...n, at: clamp(n.at), runs: compactUses(n.runs.map(clamp)) };
    }
  }
  for (const a of change.arrivals ?? []) applyArrival(d, a, clamp(a.at));
  for (const u of change.uses ?? []) applyUse(d, u, clamp(u.at));
  for (const n of change.needs ?? []) applyNeeds(l, n, clamp(n.at));
  if (change.sighting) {
    const at = clamp(change.sighting.at);
    const present = new Set(change.sighting.present);
    for (const id of present) {
      const e = d.entry(id, at);
      e.lastSeen = Math.max(e.lastSeen, at);
      e.gone = null;
      const size = change.sighting.sizes?.[id];
      if (size !== undefined) e.size = size;
    }
    for (const id in l.images) if (!present.has(id) && l.images[id]!.gone === null) d.entry(id, at).gone = at;
  }
  for (const g of change.gone ?? []) {
    const e = l.images[g.id];
    if (e && e.gone === null) d.entry(g.id, 0).gone = clamp(g.at);
  }
  for (const id in l.images) {
    const gone = l.images[id]!.gone;
    if (gone !== null && now - gone > horizon) delete l.images[id];
  }
  for (const k in l.needs) if (now - l.needs[k]!.at > horizon) delete l.needs[k];
  settledAt.set(l, now);
  return l;
}

export interface UpdateResult {
  ledger: Ledger;
  problem?: string;
}

/** Read-modify-write under the ledger lock. A damaged file is set aside and rebuilt. */
export async function updateLedger(stateDir: string, change: (l: Ledger) => Ledger): Promise<UpdateResult> {
  ensureSharedDir(stateDir);
  return withFileLock(path.join(stateDir, "ledger.lock"), () => {
    const read = readLedger(stateDir);
    if (read.problem) {
      try {
        renameSync(ledgerPath(stateDir), `${ledgerPath(stateDir)}.damaged-${Date.now()}`);
      } catch {
        // unreadable and unmovable: the atomic write below replaces it anyway
      }
    }
    const next = change(read.ledger);
    // No fsync: a ledger lost to a power cut is rebuilt, and prune never acts hastily on a fresh one.
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: whether the data was flushed is not observable without a power cut
    writeFileAtomic(ledgerPath(stateDir), `${JSON.stringify(next)}\n`, 0o664, { fsync: false });
    return read.problem ? { ledger: next, problem: read.problem } : { ledger: next };
  });
}

/**
 * The one way anything is recorded: apply `change` at `now` (default: the clock) under the lock.
 * Callers that must never fail over the ledger (prepull) catch and log.
 */
export function recordLedger(
  stateDir: string,
  change: LedgerChange,
  opts: LedgerOptions & { now?: number } = {},
): Promise<UpdateResult> {
  return updateLedger(stateDir, (l) => applyChange(l, change, opts.now ?? Date.now(), opts));
}
