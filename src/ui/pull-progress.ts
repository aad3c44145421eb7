// What a person watching a prepull sees while pulls are in flight. Pure: the caller feeds it the
// folded progress of each pull (src/pull/progress.ts) with the time it arrived, and asks either
// for the lines a log gets (no terminal: a line per image per state change, a "still pulling" line
// at a steady interval, a stall said as such) or for the live block a terminal redraws in place
// (one row per pull in flight and an overall n/m). Time is always an argument, so the table tests
// drive it without timers (test/unit/pull-progress-view.test.ts).
import type { PullProgress } from "../pull/progress.js";
import { formatDuration } from "../util/duration.js";
import { table, truncate } from "./text.js";

export interface ProgressSettings {
  /** Pulls the prepull will make (the n/m's m). */
  total: number;
  /** A "still pulling" line per image after this long without a line about it (logs only). */
  intervalMs: number;
  /** No new bytes for this long while resolving or downloading: the pull is stalled. */
  stallMs: number;
}

/** A line for the log: the message carries what a person reads, the fields what a program does. */
export interface ProgressEvent {
  level: "info" | "warn";
  msg: string;
  fields: {
    ref: string;
    phase: PullProgress["phase"] | "starting";
    bytesDone: number;
    bytesTotal: number;
    elapsedMs: number;
    attempt?: number;
    stalledMs?: number;
  };
}

interface InFlight {
  ref: string;
  attempt: number;
  startedAt: number;
  progress: PullProgress | undefined;
  /** The last time the bytes (or the phase) moved. */
  movedAt: number;
  /** Phases already announced in this attempt (each once, so a flapping phase is not repeated). */
  announced: Set<string>;
  /** The last time a line about this pull went to the log. */
  lineAt: number;
  /** A stall announced and not yet over. */
  stallReported: boolean;
}

const PHASE_TEXT: Record<PullProgress["phase"], string> = {
  resolving: "resolving",
  waiting: "waiting for a download slot",
  downloading: "downloading",
  extracting: "extracting",
  done: "finishing",
};

/** Whole seconds under a minute ("45s"), then as formatDuration ("3m20s"). */
export function elapsedText(ms: number): string {
  return ms < 60_000 ? `${Math.floor(Math.max(0, ms) / 1000)}s` : formatDuration(ms);
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/**
 * "120/300 MB": done and total in the total's unit (decimal, as `docker pull` counts), one
 * decimal under 10. Without a total yet: the bytes alone.
 */
export function bytesPair(done: number, total: number): string {
  const ref = Math.max(done, total);
  let i = 0;
  while (ref >= 1000 ** (i + 1) && i < UNITS.length - 1) i++;
  const f = (n: number) => {
    const v = n / 1000 ** i;
    return i === 0 ? String(Math.round(v)) : v < 10 ? v.toFixed(1) : String(Math.round(v));
  };
  return total > 0 ? `${f(done)}/${f(total)} ${UNITS[i]}` : `${f(done)} ${UNITS[i]}`;
}

export class PullProgressModel {
  private readonly inFlight = new Map<string, InFlight>();
  private finished = 0;
  private failed = 0;

  constructor(readonly settings: ProgressSettings) {}

  /** A pull (or a retry of one) starts. */
  start(ref: string, attempt: number, at: number): ProgressEvent[] {
    const f: InFlight = {
      ref,
      attempt,
      startedAt: this.inFlight.get(ref)?.startedAt ?? at,
      progress: undefined,
      movedAt: at,
      announced: new Set(),
      lineAt: at,
      stallReported: false,
    };
    this.inFlight.set(ref, f);
    const again = attempt > 1 ? ` (attempt ${attempt})` : "";
    return [this.event(f, "info", `pulling ${ref}${again}`, at, "starting")];
  }

  /** A progress message of `ref`'s pull arrived at `at`. */
  update(ref: string, p: PullProgress, at: number): ProgressEvent[] {
    const f = this.inFlight.get(ref);
    if (!f) return [];
    const before = f.progress;
    f.progress = p;
    const out: ProgressEvent[] = [];
    if (!before || before.bytesDone !== p.bytesDone || before.phase !== p.phase) {
      f.movedAt = at;
      if (f.stallReported) {
        f.stallReported = false;
        out.push(this.event(f, "info", `${ref}: bytes again after a stall`, at));
      }
    }
    // Announce each phase once per attempt; "done" is the result line's to say.
    if (p.phase !== "done" && p.phase !== "resolving" && !f.announced.has(p.phase)) {
      f.announced.add(p.phase);
      out.push(this.event(f, "info", `${ref}: ${PHASE_TEXT[p.phase]}`, at));
    }
    return out;
  }

  /** `ref`'s pull ended (its result line says how). */
  finish(ref: string, ok: boolean): void {
    if (!this.inFlight.delete(ref)) return;
    this.finished++;
    if (!ok) this.failed++;
  }

  /** What is due at `at`: stalls newly reached, "still pulling" lines whose interval passed. */
  tick(at: number): ProgressEvent[] {
    const out: ProgressEvent[] = [];
    for (const f of this.inFlight.values()) {
      const stalled = this.stalledMs(f, at);
      if (stalled !== undefined && !f.stallReported) {
        f.stallReported = true;
        out.push(
          this.event(
            f,
            "warn",
            `${f.ref}: stalled: no bytes for ${elapsedText(stalled)}`,
            at,
            undefined,
            stalled,
          ),
        );
        continue;
      }
      if (at - f.lineAt >= this.settings.intervalMs) {
        const p = f.progress;
        const bytes = p && p.bytesTotal > 0 ? `${bytesPair(p.bytesDone, p.bytesTotal)}, ` : "";
        const state =
          stalled !== undefined
            ? `, stalled: no bytes for ${elapsedText(stalled)}`
            : p?.phase === "waiting"
              ? ", waiting for a download slot"
              : p?.phase === "extracting"
                ? ", extracting"
                : "";
        out.push(
          this.event(
            f,
            stalled !== undefined ? "warn" : "info",
            `still pulling ${f.ref}: ${bytes}${elapsedText(at - f.startedAt)}${state}`,
            at,
            undefined,
            stalled,
          ),
        );
      }
    }
    return out;
  }

  /** How long `f` has been stalled, if it is: resolving or downloading, and no bytes for stallMs. */
  private stalledMs(f: InFlight, at: number): number | undefined {
    const phase = f.progress?.phase ?? "resolving";
    // Waiting is for another image's slot and extracting moves no download bytes: neither stalls.
    if (phase !== "resolving" && phase !== "downloading") return undefined;
    const still = at - f.movedAt;
    return still >= this.settings.stallMs ? still : undefined;
  }

  private event(
    f: InFlight,
    level: ProgressEvent["level"],
    msg: string,
    at: number,
    phase?: ProgressEvent["fields"]["phase"],
    stalledMs?: number,
  ): ProgressEvent {
    f.lineAt = at;
    return {
      level,
      msg,
      fields: {
        ref: f.ref,
        phase: phase ?? f.progress?.phase ?? "resolving",
        bytesDone: f.progress?.bytesDone ?? 0,
        bytesTotal: f.progress?.bytesTotal ?? 0,
        elapsedMs: Math.max(0, at - f.startedAt),
        ...(f.attempt > 1 ? { attempt: f.attempt } : {}),
        ...(stalledMs !== undefined ? { stalledMs } : {}),
      },
    };
  }

  /** The live block for a terminal `width` columns wide: an overall line, then a row per pull. */
  block(at: number, width: number): string[] {
    const rows = [...this.inFlight.values()];
    const done = rows.reduce((n, f) => n + (f.progress?.bytesDone ?? 0), 0);
    const total = rows.reduce((n, f) => n + (f.progress?.bytesTotal ?? 0), 0);
    const failed = this.failed ? `, ${this.failed} failed` : "";
    const head = `pulling ${this.finished}/${this.settings.total} done${failed}, ${rows.length} in flight${total > 0 ? `  ${bytesPair(done, total)}` : ""}`;
    const state = (f: InFlight) => {
      const stalled = this.stalledMs(f, at);
      if (stalled !== undefined) return `stalled: no bytes for ${elapsedText(stalled)}`;
      return PHASE_TEXT[f.progress?.phase ?? "resolving"] + (f.attempt > 1 ? ` (attempt ${f.attempt})` : "");
    };
    const lines = table({
      columns: [
        { header: "IMAGE", cell: (f: InFlight) => f.ref, shrink: { min: 12 } },
        { header: "STATE", cell: state, shrink: { min: 11 } },
        {
          header: "BYTES",
          cell: (f) =>
            f.progress && f.progress.bytesTotal > 0
              ? bytesPair(f.progress.bytesDone, f.progress.bytesTotal)
              : "",
          align: "right",
        },
        { header: "ELAPSED", cell: (f) => elapsedText(at - f.startedAt), align: "right" },
      ],
      rows,
      width: width - 3,
      header: false,
    });
    // Never wider than the terminal: a wrapped line would break the redraw (it counts lines).
    return [head, ...lines.map((l) => `  ${l}`)].map((l) => truncate(l, width - 1));
  }
}
