// What the engine's event stream (GET /events) says, turned into the ledger's observations. Pure:
// a line the daemon wrote becomes an EngineEvent, an event becomes an Observation (or nothing), and
// an observation plus the image ID it names becomes a LedgerChange. Resolving that ID (a container
// event names a container; a pull event names a reference) needs the daemon, so the follower does
// it in between (follow.ts). Shapes as dockerd 20.10 writes them (test/fixtures/events/, captured
// from a real daemon):
//   container create/start  Actor.ID = container ID; Attributes = the container's labels plus
//                           `image` (the name it was created with, as given) and `name`
//   image pull              Actor.ID = the reference pulled ("repo:tag", "repo:tag@sha256:…" for
//                           swarm's digest pulls); Attributes.name = the repository
//   image tag               Actor.ID = image ID; Attributes.name = the new name (builds tag too)
//   image load / import     Actor.ID = image ID; Attributes.name = the image ID again
//   image delete            Actor.ID = image ID
// https://docs.docker.com/engine/api/v1.41/#tag/System/operation/SystemEvents
import { z } from "zod";
import type { ImageArrival, LedgerChange } from "../model/use.js";

/** The events watch subscribes to: the daemon filters, so nothing else crosses the socket. */
export const WATCHED_ACTIONS = {
  container: ["create", "start"],
  image: ["pull", "tag", "load", "import", "delete"],
} as const;

/** The `filters` query parameter of GET /events. */
export const EVENT_FILTERS: Record<string, string[]> = {
  type: Object.keys(WATCHED_ACTIONS),
  event: [...new Set(Object.values(WATCHED_ACTIONS).flat())],
};

/** The swarm stack a container belongs to: abra's STACK_NAME, so the app of a deploy. */
export const STACK_LABEL = "com.docker.stack.namespace";

const messageSchema = z.looseObject({
  Type: z.string(),
  Action: z.string(),
  Actor: z.looseObject({
    ID: z.string(),
    Attributes: z.record(z.string(), z.string()).nullish(),
  }),
  time: z.number().int().nonnegative(),
  timeNano: z.number().nonnegative().optional(),
});

export interface EngineEvent {
  type: string;
  action: string;
  /** Actor.ID: a container ID, an image ID, or (pull) the reference pulled. */
  actor: string;
  attributes: Record<string, string>;
  /**
   * The event's time in nanoseconds since the epoch, exactly as the daemon wrote it. It exceeds
   * 2^53, so JSON.parse would round it (to ~256 ns): it is read from the text of the line instead,
   * and kept as a bigint. The resume position (position.ts) is built from it.
   */
  timeNano: bigint;
  /** The same time in milliseconds, for the ledger. */
  at: number;
}

export type ParsedLine = { ok: true; event: EngineEvent } | { ok: false; error: string };

const TIME_NANO = /"timeNano"\s*:\s*(\d+)/;

/** One line of the event stream. A line that is not an event is reported, never thrown. */
export function parseEventLine(line: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `not JSON (${(e as Error).message}): ${line.slice(0, 200)}` };
  }
  const r = messageSchema.safeParse(json);
  if (!r.success) return { ok: false, error: `not an event message: ${line.slice(0, 200)}` };
  const m = r.data;
  // Attributes.name may itself contain the text "timeNano": take the last match, the message's own
  // key, which the daemon writes after Actor.
  const all = [...line.matchAll(new RegExp(TIME_NANO, "g"))];
  const text = all.length ? all[all.length - 1]![1]! : undefined;
  const timeNano = text !== undefined ? BigInt(text) : BigInt(m.time) * 1_000_000_000n;
  return {
    ok: true,
    event: {
      type: m.Type,
      action: m.Action,
      actor: m.Actor.ID,
      attributes: m.Actor.Attributes ?? {},
      timeNano,
      at: Number(timeNano / 1_000_000n),
    },
  };
}

export type Observation =
  /** A container was created or started: a use of its image (resolved from the container). */
  | { kind: "use"; at: number; container: string; image: string | undefined; app: string | undefined }
  /** An image arrived: `subject` is its ID, or (pull) the reference to resolve it by. */
  | { kind: "arrival"; at: number; how: ImageArrival["how"]; subject: string; ref: string | undefined }
  /** An image was deleted. */
  | { kind: "gone"; at: number; id: string };

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

export function isImageId(s: string): boolean {
  return IMAGE_ID.test(s);
}

/** A name worth remembering as a reference: not an image ID (full or short). */
function asRef(s: string | undefined): string | undefined {
  if (!s || isImageId(s) || /^[0-9a-f]{12,64}$/.test(s)) return undefined;
  return s;
}

const nonEmpty = (s: string | undefined) => (s ? s : undefined);

/** What an event means for the ledger; undefined for events that mean nothing to it. */
export function observe(ev: EngineEvent): Observation | undefined {
  const a = ev.attributes;
  if (ev.type === "container" && (ev.action === "create" || ev.action === "start"))
    return {
      kind: "use",
      at: ev.at,
      container: ev.actor,
      image: nonEmpty(a.image),
      app: nonEmpty(a[STACK_LABEL]),
    };
  if (ev.type !== "image") return undefined;
  switch (ev.action) {
    case "pull":
      return { kind: "arrival", at: ev.at, how: "pull", subject: ev.actor, ref: asRef(ev.actor) };
    case "tag":
      return { kind: "arrival", at: ev.at, how: "tag", subject: ev.actor, ref: asRef(a.name) };
    case "load":
    case "import":
      return { kind: "arrival", at: ev.at, how: ev.action, subject: ev.actor, ref: asRef(a.name) };
    case "delete":
      return isImageId(ev.actor) ? { kind: "gone", at: ev.at, id: ev.actor } : undefined;
    default:
      return undefined;
  }
}

/**
 * The ledger change for an observation whose image ID is `id` (undefined: the image could not be
 * resolved, e.g. deleted before we looked; nothing is recorded). The use's `ref` is the image as
 * the container was created with it; its `app` the container's stack, when it has one.
 */
export function changeOf(o: Observation, id: string | undefined): LedgerChange {
  switch (o.kind) {
    case "use":
      return id ? { uses: [{ at: o.at, id, ref: asRef(o.image), app: o.app, source: "container" }] } : {};
    case "arrival":
      return id ? { arrivals: [{ at: o.at, id, ref: o.ref, how: o.how }] } : {};
    case "gone":
      return { gone: [{ at: o.at, id: o.id }] };
  }
}

/** Does a change record anything? */
export function isEmptyChange(c: LedgerChange): boolean {
  return !c.uses?.length && !c.arrivals?.length && !c.needs?.length && !c.gone?.length && !c.sighting;
}
