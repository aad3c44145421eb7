// Where `imagekeeper watch` is in the event stream, so that a restart (of watch or of dockerd)
// resumes without losing an event. Pure.
//
// The daemon replays the events it still holds with `since` ≤ their time, inclusively (moby
// daemon/events/events.go loadBufferedEvents: `ev.TimeNano < since` ends the replay), then streams
// new ones. So watch resumes with since = the last applied event's exact timeNano, and skips the
// events at exactly that time it has already applied (remembered by key). The position follows the
// stream's order, not the clock's maximum: after the host's clock steps back, new events carry
// earlier times, and a maximum would leave `since` in the future and skip them after a restart.
// The daemon keeps only its last 256 events, in memory (eventsLimit in the same file): after a long
// outage, or a dockerd restart while watch was away, events are missing, so every (re)connect also
// reconciles from the containers and images present (reconcile.ts).
import type { EngineEvent } from "./events.js";

export interface Position {
  /** The last applied event's time, nanoseconds since the epoch, as a decimal string. */
  timeNano: string;
  /** Keys (eventKey) of the events at exactly `timeNano` already applied. */
  seen: string[];
}

/** Events at one nanosecond that watch tells apart (a create and a start never share one, but may). */
export function eventKey(ev: Pick<EngineEvent, "type" | "action" | "actor">): string {
  return `${ev.type}/${ev.action}/${ev.actor}`;
}

/** A time in nanoseconds as the API's `since`/`until` take it: "SECONDS.NANOSECONDS". */
export function apiTime(timeNano: bigint): string {
  const t = timeNano < 0n ? 0n : timeNano;
  return `${t / 1_000_000_000n}.${(t % 1_000_000_000n).toString().padStart(9, "0")}`;
}

/** Milliseconds since the epoch as nanoseconds. */
export function msToNano(ms: number): bigint {
  return BigInt(Math.max(0, Math.floor(ms))) * 1_000_000n;
}

/**
 * Where to resume: the saved position, else `startMs` (a first start: events from now on; what
 * existed before is reconciled).
 */
export function resumeSince(p: Position | undefined, startMs: number): string {
  return apiTime(p ? BigInt(p.timeNano) : msToNano(startMs));
}

/** Was this event applied already (replayed by `since`, which is inclusive)? */
export function alreadyApplied(p: Position | undefined, ev: EngineEvent): boolean {
  return p !== undefined && BigInt(p.timeNano) === ev.timeNano && p.seen.includes(eventKey(ev));
}

/** The position once `ev` is applied. */
export function advance(p: Position | undefined, ev: EngineEvent): Position {
  const key = eventKey(ev);
  if (p && BigInt(p.timeNano) === ev.timeNano)
    return p.seen.includes(key) ? p : { timeNano: p.timeNano, seen: [...p.seen, key] };
  return { timeNano: ev.timeNano.toString(), seen: [key] };
}

/** The position's time in milliseconds (for status and metrics). */
export function positionMs(p: Position): number {
  return Number(BigInt(p.timeNano) / 1_000_000n);
}
