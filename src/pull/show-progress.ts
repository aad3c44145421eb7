// Showing pulls in flight (src/ui/pull-progress.ts decides what): on a terminal a live block under
// the other output, redrawn in place, with log lines and result lines printed above it; otherwise
// log lines through pino (readable, or JSON with --log-format json), ticking at a steady rate for
// the "still pulling" and "stalled" lines. Off with --quiet and --json (stderr then carries only
// the logs). The timers are unref'd: they never keep the process alive.
import { human, logger, setLogWriter } from "../log.js";
import { LiveBlock } from "../ui/live-block.js";
import { type ProgressEvent, type ProgressSettings, PullProgressModel } from "../ui/pull-progress.js";
import type { PlannedImage } from "./plan.js";
import type { PullProgress } from "./progress.js";
import type { ImageResult } from "./report.js";

export type ProgressMode = "live" | "log" | "off";

export interface ProgressView {
  onStart(img: PlannedImage, attempt: number): void;
  onProgress(img: PlannedImage, p: PullProgress): void;
  /** The pull of `r.ref` ended; `line` (if any) is its result text for stdout. */
  onResult(r: ImageResult, line: string | undefined): void;
  stop(): void;
}

/** Which view: off for --json and --quiet, live when stderr is a terminal, else log lines. */
export function progressMode(o: { json: boolean; quiet: boolean; stderrTTY: boolean }): ProgressMode {
  if (o.json || o.quiet) return "off";
  return o.stderrTTY ? "live" : "log";
}

const REDRAW_MS = 250;

export function startProgress(
  mode: ProgressMode,
  settings: ProgressSettings,
  io: {
    stdout: { write(s: string): unknown };
    stderr: { write(s: string): unknown };
    /** The terminal's width now (it may be resized while pulls run). */
    columns: () => number;
    now?: () => number;
  },
): ProgressView {
  const now = io.now ?? Date.now;
  const model = new PullProgressModel(settings);
  if (mode === "off")
    return {
      onStart: () => {},
      onProgress: () => {},
      onResult: (_r, line) => {
        if (line !== undefined) io.stdout.write(line);
      },
      stop: () => {},
    };
  const log = (events: ProgressEvent[]) => {
    if (mode !== "log") return;
    for (const e of events) logger()[e.level](human(e.fields, []), e.msg);
  };
  let block: LiveBlock | undefined;
  let timer: NodeJS.Timeout;
  if (mode === "live") {
    const b = new LiveBlock(io.stderr);
    block = b;
    setLogWriter((text) => b.print(text, io.stderr));
    timer = setInterval(() => {
      model.tick(now());
      b.update(model.block(now(), io.columns()));
    }, REDRAW_MS);
  } else {
    const every = Math.max(100, Math.min(1000, settings.intervalMs / 4, settings.stallMs / 4));
    timer = setInterval(() => log(model.tick(now())), every);
  }
  timer.unref();
  return {
    onStart: (img, attempt) => log(model.start(img.ref, attempt, now())),
    onProgress: (img, p) => log(model.update(img.ref, p, now())),
    onResult: (r, line) => {
      model.finish(r.ref, r.action !== "failed");
      if (line === undefined) return;
      if (block) block.print(line, io.stdout);
      else io.stdout.write(line);
    },
    stop: () => {
      clearInterval(timer);
      if (block) {
        block.stop();
        setLogWriter(undefined);
      }
    },
  };
}
