// Batching ledger writes: under load (a sweep starting dozens of containers a minute, a stack
// deploy's burst of events) `imagekeeper watch` writes the ledger once per flush interval, not once
// per event. Each write rewrites the whole ledger under its lock, which prepulls also take. Pure:
// the clock is passed in.
import type { LedgerChange } from "../model/use.js";
import type { Position } from "./position.js";

/** Two changes as one: the observations of both (the ledger applies them as sets, order-free). */
export function mergeChanges(a: LedgerChange, b: LedgerChange): LedgerChange {
  const out: LedgerChange = {};
  const cat = <T>(x: readonly T[] | undefined, y: readonly T[] | undefined) =>
    x?.length || y?.length ? [...(x ?? []), ...(y ?? [])] : undefined;
  const uses = cat(a.uses, b.uses);
  const arrivals = cat(a.arrivals, b.arrivals);
  const needs = cat(a.needs, b.needs);
  const gone = cat(a.gone, b.gone);
  if (uses) out.uses = uses;
  if (arrivals) out.arrivals = arrivals;
  if (needs) out.needs = needs;
  if (gone) out.gone = gone;
  // A sighting is a complete listing at its time: the later one supersedes the earlier.
  const s = !a.sighting
    ? b.sighting
    : !b.sighting
      ? a.sighting
      : b.sighting.at >= a.sighting.at
        ? b.sighting
        : a.sighting;
  if (s) out.sighting = s;
  return out;
}

/** How many observations a change carries. */
export function sizeOf(c: LedgerChange): number {
  return (c.uses?.length ?? 0) + (c.arrivals?.length ?? 0) + (c.needs?.length ?? 0) + (c.gone?.length ?? 0);
}

export interface Taken {
  change: LedgerChange;
  /** The position after the last event in this batch (save it once the change is written). */
  position: Position | undefined;
  events: number;
}

export interface BatchOptions {
  /** Write at most this long after the oldest pending event. */
  flushMs: number;
  /** Write at once when this many observations are pending (bounds memory and a lost batch). */
  maxObservations: number;
}

export class Batch {
  private change: LedgerChange = {};
  private position: Position | undefined;
  private events = 0;
  /** When the oldest pending event was added; undefined when nothing is pending. */
  private since: number | undefined;

  constructor(private readonly opts: BatchOptions) {}

  /** One event's change (possibly empty: an image gone before it could be resolved) and position. */
  add(change: LedgerChange, position: Position | undefined, nowMs: number): void {
    this.change = mergeChanges(this.change, change);
    if (position) this.position = position;
    this.events++;
    this.since ??= nowMs;
  }

  get pending(): number {
    return this.events;
  }

  /** Milliseconds until the batch should be written (0: now); undefined when nothing is pending. */
  dueIn(nowMs: number): number | undefined {
    if (this.since === undefined) return undefined;
    if (sizeOf(this.change) >= this.opts.maxObservations) return 0;
    return Math.max(0, this.since + this.opts.flushMs - nowMs);
  }

  /** Take everything pending (the caller writes it, then saves the position). */
  take(): Taken | undefined {
    if (this.since === undefined) return undefined;
    const t: Taken = { change: this.change, position: this.position, events: this.events };
    this.change = {};
    this.position = undefined;
    this.events = 0;
    this.since = undefined;
    return t;
  }

  /**
   * A write failed: the taken batch goes back, merged with whatever arrived since (a newer
   * position, if any, stays the newer one), due again one interval from now.
   */
  putBack(t: Taken, nowMs: number): void {
    this.change = mergeChanges(t.change, this.change);
    this.position ??= t.position;
    this.events += t.events;
    this.since = nowMs;
  }
}
