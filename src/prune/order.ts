// The eviction order: which removable image goes first. A small pure function over plain data
// (times as epoch milliseconds, sizes in bytes), so a benchmark can replay recorded CI traces
// through exactly the code that prune runs.
//
// Why not plain LRU: the nightly all-recipes run sweeps every recipe in the same order. When that
// sweep needs more than the disk holds, LRU evicts the image used longest ago, which is exactly the
// one the next sweep needs first, and every image of the next sweep misses in turn (the classic LRU
// loop pathology). Belady's oracle evicts the image whose next use is farthest away; the ledger
// lets us estimate that next use as "last use + the image's usual gap between uses".
//
// The order, first to last:
//   1. superseded: a recipe needed the image before but none needs it in its latest prepull, or
//      the image is overdue by more than its usual gap (now > last use + 2 × gap): oldest first;
//   2. everything else by predicted next use, farthest first. With a usual gap (two or more use
//      sessions in the ledger) the prediction is last use + gap; with no history it is
//      now + (now − last use), the LRU assumption put on the same time scale, so images without
//      history fall back to least recently used among themselves and still interleave sensibly
//      with predicted ones;
//   3. ties: larger first (more bytes freed per removal, fewer removals), then by key for a
//      deterministic order.

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
  /** The ledger says no recipe needs the image any more. */
  superseded: boolean;
}

export type OrderClass = "superseded" | "overdue" | "predicted" | "lru";

export interface Ordered {
  key: string;
  /** 1-based position in the eviction order. */
  rank: number;
  class: OrderClass;
  /** Usual gap between use sessions, when the history has one. */
  gapMs: number | null;
  /** When the image is expected to be needed next (null for superseded images). */
  predictedNextUseMs: number | null;
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
  if (gapMs !== null) {
    const predicted = item.lastUseMs + gapMs;
    // Overdue by more than its own gap: whatever needed it on that rhythm has stopped.
    if (nowMs - predicted > gapMs) return { class: "overdue", gapMs, predictedNextUseMs: null };
    return { class: "predicted", gapMs, predictedNextUseMs: predicted };
  }
  return { class: "lru", gapMs: null, predictedNextUseMs: nowMs + Math.max(0, nowMs - item.lastUseMs) };
}

/** The items in eviction order (first = evict first). Pure and deterministic. */
export function evictionOrder(items: readonly OrderItem[], nowMs: number): Ordered[] {
  const rows = items.map((item) => ({ item, ...classify(item, nowMs) }));
  const group = (c: OrderClass) => (c === "superseded" || c === "overdue" ? 0 : 1);
  rows.sort((a, b) => {
    const g = group(a.class) - group(b.class);
    if (g !== 0) return g;
    if (group(a.class) === 0) {
      // Among images nobody needs: the longest unused first.
      if (a.item.lastUseMs !== b.item.lastUseMs) return a.item.lastUseMs - b.item.lastUseMs;
    } else if (a.predictedNextUseMs !== b.predictedNextUseMs) {
      return b.predictedNextUseMs! - a.predictedNextUseMs!;
    }
    if (a.item.sizeBytes !== b.item.sizeBytes) return b.item.sizeBytes - a.item.sizeBytes;
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
