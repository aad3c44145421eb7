// The eviction order: which removable image goes first. A small pure function over plain data
// (times as epoch milliseconds, sizes in bytes), so the simulator (`imagekeeper simulate`) replays
// CI traces through exactly the code that prune runs.
//
// Why not plain LRU: the nightly all-recipes run sweeps every recipe in the same order. When that
// sweep needs more than the disk holds, LRU evicts the image used longest ago, which is exactly the
// one the next sweep needs first, and every image of the sweep misses in turn (the classic LRU
// loop pathology). Belady's oracle evicts the image whose next use is farthest away; the ledger
// lets us estimate that next use.
//
// The estimate comes first from the apps that need the image now (issue 8): an image in the
// current need set of an app+role is needed at that app's next run, predicted from the app's own
// rhythm (its latest prepull + the usual gap between its prepulls). The app's rhythm is a better
// guide than the image's: an image used by the nightly run and by a few pull-request runs has an
// irregular history, but the nightly app runs every 24 hours; and an app that has stopped running
// (a pull request merged or closed) stops protecting its images once it is overdue. In the
// simulator this re-pulls 13–27 % fewer bytes than the image's own history (docs/performance.md).
//
// The order, first to last:
//   1. superseded: an app needed the image before but none needs it in its latest prepull; or
//      overdue: no running app needs it and it is overdue by more than its usual gap between uses
//      (now > last use + 2 × gap). Oldest last use first;
//   2. images no running app needs (used outside prepull, seen by `imagekeeper watch`, or needed
//      only by apps that stopped running), by predicted next use, farthest first: last use + the
//      image's usual gap between use sessions, or without history now + (now − last use), the LRU
//      assumption on the same time scale;
//   3. images a running app needs, by that app's predicted next run, farthest first (the earliest
//      of several apps);
//   ties: larger first (more bytes freed per removal, fewer removals), then by key.

/** Uses closer together than this are one session (one CI run touching an image from several recipes). */
export const SESSION_MS = 60 * 60 * 1000;

export interface OrderItem {
  /** Anything unique: the image ID in prune, an opaque key in a replayed trace. */
  key: string;
  sizeBytes: number;
  /** The image's last use, resolved by the caller (ledger, else last tag time, else first seen). */
  lastUseMs: number;
  /** Use times recorded in the ledger (any order); empty when the image has no history. */
  usesMs: readonly number[];
  /** The ledger says no app needs the image any more. */
  superseded: boolean;
  /**
   * When the running apps whose current need sets include the image are expected to run next (the
   * earliest, never before now; `nextRun`), or null/absent when no running app needs it.
   */
  neededNextMs?: number | null;
}

export type OrderClass = "superseded" | "overdue" | "predicted" | "lru" | "needed";

export interface Ordered {
  key: string;
  /** 1-based position in the eviction order. */
  rank: number;
  class: OrderClass;
  /** Usual gap between use sessions, when the history has one. */
  gapMs: number | null;
  /** When the image is expected to be needed next (null for superseded and overdue images). */
  predictedNextUseMs: number | null;
}

/** An app seen only once is expected back within this (a pull request pushed again, the next night). */
export const FIRST_GAP_MS = 24 * 60 * 60 * 1000;

/**
 * When an app (its prepulls of one role, at `runsMs`) is expected to run next: its last run + its
 * usual gap between runs (FIRST_GAP_MS with a single run), not before now. Null once it is overdue
 * by more than that gap: whatever ran it has stopped (a pull request closed or merged).
 */
export function nextRun(runsMs: readonly number[], nowMs: number): { atMs: number; gapMs: number } | null {
  if (runsMs.length === 0) return null;
  const last = Math.max(...runsMs);
  const gapMs = usualGap(runsMs) ?? FIRST_GAP_MS;
  const next = last + gapMs;
  if (nowMs - next > gapMs) return null;
  return { atMs: Math.max(next, nowMs), gapMs };
}

/**
 * Use times folded into sessions, as the session start times: a use less than SESSION_MS after the
 * previous one joins its session (a sweep touching one image from several recipes is one use).
 */
export function useSessions(usesMs: readonly number[]): number[] {
  const sorted = [...usesMs].sort((a, b) => a - b);
  const starts: number[] = [];
  let end: number | undefined;
  for (const t of sorted) {
    if (end === undefined || t - end >= SESSION_MS) starts.push(t);
    end = t;
  }
  return starts;
}

/**
 * The usual gap between use sessions: the (upper) median of the gaps, robust against one long
 * holiday or one extra manual run. Null with fewer than two sessions.
 */
export function usualGap(usesMs: readonly number[]): number | null {
  const s = useSessions(usesMs);
  if (s.length < 2) return null;
  const gaps: number[] = [];
  for (let i = 1; i < s.length; i++) gaps.push(s[i]! - s[i - 1]!);
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)]!;
}

export function classify(
  item: OrderItem,
  nowMs: number,
): { class: OrderClass; gapMs: number | null; predictedNextUseMs: number | null } {
  const gapMs = usualGap(item.usesMs);
  if (item.superseded) return { class: "superseded", gapMs, predictedNextUseMs: null };
  if (item.neededNextMs != null) return { class: "needed", gapMs, predictedNextUseMs: item.neededNextMs };
  if (gapMs !== null) {
    const predicted = item.lastUseMs + gapMs;
    // Overdue by more than its own gap: whatever needed it on that rhythm has stopped.
    if (nowMs - predicted > gapMs) return { class: "overdue", gapMs, predictedNextUseMs: null };
    return { class: "predicted", gapMs, predictedNextUseMs: predicted };
  }
  return { class: "lru", gapMs: null, predictedNextUseMs: nowMs + Math.max(0, nowMs - item.lastUseMs) };
}

const GROUP: Record<OrderClass, number> = { superseded: 0, overdue: 0, predicted: 1, lru: 1, needed: 2 };

/** The items in eviction order (first = evict first). Pure and deterministic. */
export function evictionOrder(items: readonly OrderItem[], nowMs: number): Ordered[] {
  const rows = items.map((item) => ({ item, ...classify(item, nowMs) }));
  rows.sort((a, b) => {
    const g = GROUP[a.class] - GROUP[b.class];
    if (g !== 0) return g;
    if (GROUP[a.class] === 0) {
      // Among images nobody needs: the longest unused first.
      // Stryker disable next-line ConditionalExpression: when equal the subtraction is 0 and the next tie-break decides anyway
      if (a.item.lastUseMs !== b.item.lastUseMs) return a.item.lastUseMs - b.item.lastUseMs;
    } else if (a.predictedNextUseMs !== b.predictedNextUseMs) {
      return b.predictedNextUseMs! - a.predictedNextUseMs!;
    }
    if (a.item.sizeBytes !== b.item.sizeBytes) return b.item.sizeBytes - a.item.sizeBytes;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: keys are unique; V8's sort only asks "is a before b" (< 0)
    return a.item.key < b.item.key ? -1 : a.item.key > b.item.key ? 1 : 0;
  });
  return rows.map((r, i) => ({
    key: r.item.key,
    rank: i + 1,
    class: r.class,
    gapMs: r.gapMs,
    predictedNextUseMs: r.predictedNextUseMs,
  }));
}
