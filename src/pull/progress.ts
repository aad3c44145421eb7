// Folding the Engine API's pull progress stream (one JSON document per line, the same messages
// `docker pull` renders) into per-image progress: layers by state, bytes downloaded, whether the
// pull changed anything, and the time the image spent waiting for a download slot. dockerd
// downloads at most `max-concurrent-downloads` layers at a time across the whole daemon (default
// 3); a layer queued behind that limit reports "Waiting" until it gets a slot. An image is counted
// as waiting while it has a layer waiting and none holding a slot (downloading, or retrying a
// download): the time its download stood still because of the daemon's slots, not its own bytes.
// Extraction does not hold a slot, so an image extracting one layer while the next waits is
// waiting. Pure.
// moby: daemon/internal/distribution/xfer/download.go ("Waiting", "Pulling fs layer", …),
// pull_v2.go ("Digest: ", "Status: Downloaded newer image for", "Status: Image is up to date for").
import { z } from "zod";

export const progressMessageSchema = z.looseObject({
  status: z.string().optional(),
  id: z.string().optional(),
  progressDetail: z.looseObject({ current: z.number().optional(), total: z.number().optional() }).nullish(),
  error: z.string().optional(),
  errorDetail: z.looseObject({ message: z.string().optional() }).nullish(),
});
export type ProgressMessage = z.output<typeof progressMessageSchema>;

export type LayerState =
  "queued" | "waiting" | "downloading" | "downloaded" | "extracting" | "done" | "exists" | "retrying";

interface Layer {
  state: LayerState;
  /** Download bytes so far. */
  current: number;
  /** The download's size; 0 while not known. */
  total: number;
  /** Compressed bytes the extraction has read (its progress counts the same bytes). */
  extracted: number;
}

export interface PullFold {
  startedAt: number;
  layers: Map<string, Layer>;
  /** Completed waiting intervals, ms. */
  waitedMs: number;
  /** Start of the current waiting interval, if the image is waiting now. */
  waitingSince: number | undefined;
  /** The manifest digest the daemon pulled ("Digest: sha256:…"). */
  digest: string | undefined;
  /** "Status: Image is up to date" (nothing changed) or "Status: Downloaded newer image". */
  outcome: "up-to-date" | "downloaded" | undefined;
  /** An error document in the stream (the pull failed after the daemon answered 200). */
  error: string | undefined;
}

/** What a renderer gets for an image as its pull progresses. */
export interface PullProgress {
  phase: "resolving" | "waiting" | "downloading" | "extracting" | "done";
  /** Bytes downloaded so far, over the layers whose size is known. */
  bytesDone: number;
  /** Sum of the sizes known so far (a layer's size is known once its download starts). */
  bytesTotal: number;
  layers: {
    total: number;
    /** Queued, or waiting for a download slot. */
    waiting: number;
    /** Downloading, retrying, or downloaded and waiting to be extracted in order. */
    downloading: number;
    extracting: number;
    done: number;
    /** Already in the store (shared with another image). */
    existing: number;
  };
  /** Time spent waiting for a download slot. */
  waitingMs: number;
  /** Time pulling: since the request, less the waiting. */
  pullingMs: number;
  digest: string | undefined;
}

const LAYER_STATUS: Record<string, LayerState> = {
  "Pulling fs layer": "queued",
  Waiting: "waiting",
  Downloading: "downloading",
  "Verifying Checksum": "downloading",
  "Download complete": "downloaded",
  Extracting: "extracting",
  "Pull complete": "done",
  "Already exists": "exists",
};

/** States that hold one of the daemon's download slots. */
const HOLDS_SLOT: ReadonlySet<LayerState> = new Set(["downloading", "retrying"]);

export function newFold(at: number): PullFold {
  return {
    startedAt: at,
    layers: new Map(),
    waitedMs: 0,
    waitingSince: undefined,
    digest: undefined,
    outcome: undefined,
    error: undefined,
  };
}

function blocked(f: PullFold): boolean {
  let waiting = false;
  for (const l of f.layers.values()) {
    if (HOLDS_SLOT.has(l.state)) return false;
    if (l.state === "waiting") waiting = true;
  }
  return waiting;
}

/** Apply one message received at `at` (epoch ms). Mutates and returns `f`. */
export function foldMessage(f: PullFold, m: ProgressMessage, at: number): PullFold {
  if (m.error !== undefined || m.errorDetail?.message !== undefined) {
    f.error = m.errorDetail?.message ?? m.error;
    return f;
  }
  // Stryker disable next-line StringLiteral: any text matching no status, retry or prefix is as ""
  const status = m.status ?? "";
  let state: LayerState | undefined = LAYER_STATUS[status];
  if (state === undefined && /^Retrying in \d+ seconds?$/.test(status)) state = "retrying";
  if (state !== undefined && m.id) {
    const l = f.layers.get(m.id) ?? { state, current: 0, total: 0, extracted: 0 };
    l.state = state;
    const d = m.progressDetail;
    if (state === "downloading" && d) {
      // A layer refetched after a failed request may report bytes without a total, or none.
      if (typeof d.total === "number" && d.total > 0) l.total = d.total;
      if (typeof d.current === "number" && d.current >= 0)
        l.current = l.total ? Math.min(d.current, l.total) : d.current;
    }
    if (state === "extracting" && typeof d?.current === "number")
      l.extracted = Math.max(l.extracted, d.current);
    // Finished downloading: all its bytes are here. Without a total (a refetched layer), the most
    // bytes any message counted, the extraction's included.
    if (state === "downloaded" || state === "done") l.current = l.total || Math.max(l.current, l.extracted);
    f.layers.set(m.id, l);
  } else if (status.startsWith("Digest: ")) {
    f.digest = status.slice("Digest: ".length).trim();
  } else if (status.startsWith("Status: Image is up to date")) {
    f.outcome = "up-to-date";
  } else if (status.startsWith("Status: Downloaded newer image")) {
    f.outcome = "downloaded";
  }
  const now = blocked(f);
  if (now && f.waitingSince === undefined) f.waitingSince = at;
  else if (!now && f.waitingSince !== undefined) {
    f.waitedMs += Math.max(0, at - f.waitingSince);
    f.waitingSince = undefined;
  }
  return f;
}

/** Apply one raw line of the stream; lines that are not progress documents are ignored. */
export function foldLine(f: PullFold, line: string, at: number): PullFold {
  let json: unknown;
  try {
    json = JSON.parse(line);
    // Stryker disable next-line BlockStatement: without this return, undefined fails the schema: same
  } catch {
    return f;
  }
  const r = progressMessageSchema.safeParse(json);
  return r.success ? foldMessage(f, r.data, at) : f;
}

/** Close the fold at `at` (the stream ended): a waiting interval still open ends here. */
export function finishFold(f: PullFold, at: number): PullFold {
  if (f.waitingSince !== undefined) {
    f.waitedMs += Math.max(0, at - f.waitingSince);
    f.waitingSince = undefined;
  }
  return f;
}

export function progressOf(f: PullFold, at: number): PullProgress {
  const layers = { total: 0, waiting: 0, downloading: 0, extracting: 0, done: 0, existing: 0 };
  let bytesDone = 0;
  let bytesTotal = 0;
  for (const l of f.layers.values()) {
    layers.total++;
    if (l.state === "waiting" || l.state === "queued") layers.waiting++;
    else if (l.state === "downloading" || l.state === "retrying" || l.state === "downloaded")
      layers.downloading++;
    else if (l.state === "extracting") layers.extracting++;
    else if (l.state === "done") layers.done++;
    else layers.existing++;
    if (l.state !== "exists") {
      bytesDone += l.current;
      // A size not known (yet) counts what has arrived.
      bytesTotal += l.total || l.current;
    }
  }
  const waitingMs = f.waitedMs + (f.waitingSince === undefined ? 0 : Math.max(0, at - f.waitingSince));
  const finished = layers.total > 0 && layers.done + layers.existing === layers.total;
  const phase: PullProgress["phase"] =
    f.outcome !== undefined || finished
      ? "done"
      : f.waitingSince !== undefined
        ? "waiting"
        : layers.extracting > 0
          ? "extracting"
          : layers.total > 0
            ? "downloading"
            : "resolving";
  return {
    phase,
    bytesDone,
    bytesTotal,
    layers,
    waitingMs,
    pullingMs: Math.max(0, at - f.startedAt - waitingMs),
    digest: f.digest,
  };
}
