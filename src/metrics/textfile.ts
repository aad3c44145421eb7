// Prometheus metrics through node_exporter's textfile collector: with `metrics.textfile` set, every
// prune and every prepull updates counters kept in the state dir (metrics.json, so they survive
// across runs: each run is a short process) and rewrites the .prom file atomically, so the
// collector never reads half a file. `imagekeeper watch`, a long-running service, refreshes the
// disk gauges and its own event counters periodically (recordWatchMetrics), so the gauges stay
// current between prunes. Metrics never fail the command that records them: a problem is
// logged as a warning. Names and meanings are listed in docs/operations.md.
import path from "node:path";
import { z } from "zod";
import type { Config } from "../config/schema.js";
import { logger } from "../log.js";
import { OUTCOMES, type PruneOutcome } from "../model/prune-outcome.js";
import { ERROR_CLASSES, type PrepullReport } from "../pull/report.js";
import { writeFileAtomic } from "../state/atomic.js";
import { ensureSharedDir } from "../state/dirs.js";
import { withFileLock } from "../state/lockfile.js";
import { readStateFile } from "../state/stateFile.js";

export const PREPULL_ACTIONS = ["present", "pulled", "failed", "not-attempted"] as const;
/** The engine event actions imagekeeper watch records (src/watch/events.ts WATCHED_ACTIONS). */
export const WATCH_ACTIONS = ["create", "start", "pull", "tag", "load", "import", "delete"] as const;

const counts = z.record(z.string(), z.number().min(0));

export const metricsStateSchema = z.object({
  version: z.literal(1),
  prune: z.object({
    runs: counts,
    deferrals: z.number().min(0),
    freedBytes: z.number().min(0),
    imagesRemoved: z.number().min(0),
    lastRunSeconds: z.number().nullable(),
    lastFreedBytes: z.number().nullable(),
  }),
  disk: z.object({
    usageRatio: z.number().nullable(),
    watermarks: z.object({ low: z.number(), high: z.number(), critical: z.number() }).nullable(),
    /** When usageRatio was measured (Unix seconds); absent in files written before watch existed. */
    measuredSeconds: z.number().nullable().default(null),
  }),
  prepull: z.object({
    runs: counts,
    images: counts,
    errors: counts,
    lastRunSeconds: z.number().nullable(),
    lastDurationSeconds: z.number().nullable(),
  }),
  watch: z
    .object({
      /** Events applied by `imagekeeper watch`, by action. */
      events: counts,
      /** Times watch lost the daemon. */
      outages: z.number().min(0),
      lastEventSeconds: z.number().nullable(),
      /** Connected to the daemon's event stream at the last update; null: watch never ran. */
      connected: z.boolean().nullable(),
    })
    .default({ events: {}, outages: 0, lastEventSeconds: null, connected: null }),
});
export type MetricsState = z.output<typeof metricsStateSchema>;

export function emptyMetrics(): MetricsState {
  return {
    version: 1,
    prune: {
      runs: {},
      deferrals: 0,
      freedBytes: 0,
      imagesRemoved: 0,
      lastRunSeconds: null,
      lastFreedBytes: null,
    },
    disk: { usageRatio: null, watermarks: null, measuredSeconds: null },
    prepull: { runs: {}, images: {}, errors: {}, lastRunSeconds: null, lastDurationSeconds: null },
    watch: { events: {}, outages: 0, lastEventSeconds: null, connected: null },
  };
}

export interface PruneMetricsInput {
  at: Date;
  outcome: PruneOutcome;
  /** Measured free bytes gained (negative values count as 0: counters only grow). */
  freedBytes: number;
  imagesRemoved: number;
  /** Usage after the prune, 0..1. */
  usageRatio: number;
  watermarks: { low: number; high: number; critical: number };
}

const add = (m: Record<string, number>, k: string, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};

/** Pure: counters after one prune. */
export function applyPrune(s: MetricsState, p: PruneMetricsInput): MetricsState {
  const n = structuredClone(s);
  add(n.prune.runs, p.outcome);
  if (p.outcome === "deferred") n.prune.deferrals++;
  const freed = Math.max(0, Math.round(p.freedBytes));
  n.prune.freedBytes += freed;
  n.prune.imagesRemoved += p.imagesRemoved;
  n.prune.lastRunSeconds = Math.floor(p.at.getTime() / 1000);
  n.prune.lastFreedBytes = freed;
  n.disk.usageRatio = p.usageRatio;
  n.disk.watermarks = p.watermarks;
  n.disk.measuredSeconds = Math.floor(p.at.getTime() / 1000);
  return n;
}

export interface DiskGaugeInput {
  at: Date;
  /** Used fraction, 0..1. */
  usageRatio: number;
  watermarks: { low: number; high: number; critical: number };
}

export interface WatchMetricsInput {
  /** Events applied since the last update, by action. */
  eventsDelta: Record<string, number>;
  /** Outages since the last update. */
  outagesDelta: number;
  lastEventSeconds: number | null;
  connected: boolean;
}

/** Pure: the gauges and counters after one periodic update by watch. */
export function applyWatch(s: MetricsState, w: WatchMetricsInput, disk: DiskGaugeInput | null): MetricsState {
  const n = structuredClone(s);
  for (const [k, v] of Object.entries(w.eventsDelta)) add(n.watch.events, k, Math.max(0, v));
  n.watch.outages += Math.max(0, w.outagesDelta);
  if (w.lastEventSeconds !== null)
    n.watch.lastEventSeconds = Math.max(n.watch.lastEventSeconds ?? 0, w.lastEventSeconds);
  n.watch.connected = w.connected;
  if (disk) {
    n.disk.usageRatio = disk.usageRatio;
    n.disk.watermarks = disk.watermarks;
    n.disk.measuredSeconds = Math.floor(disk.at.getTime() / 1000);
  }
  return n;
}

/** Pure: counters after one prepull (dry runs are not counted). */
export function applyPrepullReport(s: MetricsState, r: PrepullReport, at: Date): MetricsState {
  if (r.dryRun) return s;
  const n = structuredClone(s);
  add(n.prepull.runs, r.ok ? "ok" : "failed");
  for (const img of r.images) {
    add(n.prepull.images, img.action);
    if (img.errorClass) add(n.prepull.errors, img.errorClass);
  }
  n.prepull.lastRunSeconds = Math.floor(at.getTime() / 1000);
  n.prepull.lastDurationSeconds = r.durationMs !== undefined ? r.durationMs / 1000 : null;
  return n;
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** Pure: the textfile. Every known label value is written, zeros included (rate() needs the series). */
export function renderTextfile(s: MetricsState): string {
  const out: string[] = [];
  const family = (name: string, type: "counter" | "gauge", help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples)
      out.push(`${name}${labels} ${Number.isInteger(v) ? v : v.toPrecision(6)}`);
  };
  const labelled = (label: string, keys: readonly string[], m: Record<string, number>): [string, number][] =>
    [...new Set([...keys, ...Object.keys(m)])].map((k) => [`{${label}="${escapeLabel(k)}"}`, m[k] ?? 0]);

  family(
    "imagekeeper_prune_runs_total",
    "counter",
    "Prune runs by outcome.",
    labelled("outcome", OUTCOMES, s.prune.runs),
  );
  family("imagekeeper_prune_deferrals_total", "counter", "Prunes deferred because a CI run held a lease.", [
    ["", s.prune.deferrals],
  ]);
  family(
    "imagekeeper_prune_freed_bytes_total",
    "counter",
    "Bytes freed by prunes, as measured on the filesystem holding Docker's root dir.",
    [["", s.prune.freedBytes]],
  );
  family("imagekeeper_prune_images_removed_total", "counter", "Images removed by prunes.", [
    ["", s.prune.imagesRemoved],
  ]);
  if (s.prune.lastRunSeconds !== null)
    family("imagekeeper_prune_last_run_timestamp_seconds", "gauge", "When the last prune ran (Unix time).", [
      ["", s.prune.lastRunSeconds],
    ]);
  if (s.prune.lastFreedBytes !== null)
    family("imagekeeper_prune_last_freed_bytes", "gauge", "Bytes freed by the last prune, as measured.", [
      ["", s.prune.lastFreedBytes],
    ]);
  if (s.disk.usageRatio !== null)
    family(
      "imagekeeper_disk_usage_ratio",
      "gauge",
      "Used fraction of the filesystem holding Docker's root dir, as last measured (by a prune, or by imagekeeper watch every minute).",
      [["", s.disk.usageRatio]],
    );
  if (s.disk.measuredSeconds !== null)
    family(
      "imagekeeper_disk_measured_timestamp_seconds",
      "gauge",
      "When imagekeeper_disk_usage_ratio was measured (Unix time).",
      [["", s.disk.measuredSeconds]],
    );
  if (s.disk.watermarks)
    family("imagekeeper_disk_watermark_ratio", "gauge", "Configured prune watermarks as fractions.", [
      ['{level="low"}', s.disk.watermarks.low],
      ['{level="high"}', s.disk.watermarks.high],
      ['{level="critical"}', s.disk.watermarks.critical],
    ]);
  family(
    "imagekeeper_prepull_runs_total",
    "counter",
    "Prepull runs by result (failed: some image failed).",
    labelled("result", ["ok", "failed"], s.prepull.runs),
  );
  family(
    "imagekeeper_prepull_images_total",
    "counter",
    "Images handled by prepulls, by action.",
    labelled("action", PREPULL_ACTIONS, s.prepull.images),
  );
  family(
    "imagekeeper_prepull_errors_total",
    "counter",
    "Images that failed to prepull, by error class.",
    labelled("class", ERROR_CLASSES, s.prepull.errors),
  );
  if (s.prepull.lastRunSeconds !== null)
    family(
      "imagekeeper_prepull_last_run_timestamp_seconds",
      "gauge",
      "When the last prepull ended (Unix time).",
      [["", s.prepull.lastRunSeconds]],
    );
  if (s.prepull.lastDurationSeconds !== null)
    family("imagekeeper_prepull_last_duration_seconds", "gauge", "How long the last prepull took.", [
      ["", s.prepull.lastDurationSeconds],
    ]);
  if (s.watch.connected !== null) {
    family(
      "imagekeeper_watch_events_total",
      "counter",
      "Engine events recorded in the ledger by imagekeeper watch, by action.",
      labelled("action", WATCH_ACTIONS, s.watch.events),
    );
    family("imagekeeper_watch_outages_total", "counter", "Times imagekeeper watch lost the Docker daemon.", [
      ["", s.watch.outages],
    ]);
    family(
      "imagekeeper_watch_connected",
      "gauge",
      "1 while imagekeeper watch follows the daemon's event stream (as of its last update).",
      [["", s.watch.connected ? 1 : 0]],
    );
    if (s.watch.lastEventSeconds !== null)
      family(
        "imagekeeper_watch_last_event_timestamp_seconds",
        "gauge",
        "Time of the last engine event imagekeeper watch recorded (Unix time).",
        [["", s.watch.lastEventSeconds]],
      );
  }
  return `${out.join("\n")}\n`;
}

export function metricsStatePath(stateDir: string): string {
  return path.join(stateDir, "metrics.json");
}

function readMetrics(stateDir: string): MetricsState {
  const { value, problem } = readStateFile(metricsStatePath(stateDir), metricsStateSchema, emptyMetrics);
  // Prometheus treats a counter that drops as a reset: starting over is safe.
  if (problem) logger().warn({ problem }, "the metrics counters could not be read; counters start from zero");
  return value;
}

async function update(config: Config, change: (s: MetricsState) => MetricsState): Promise<void> {
  const textfile = config.metrics.textfile;
  if (!textfile) return;
  try {
    ensureSharedDir(config.stateDir);
    await withFileLock(path.join(config.stateDir, "metrics.lock"), () => {
      const next = change(readMetrics(config.stateDir));
      writeFileAtomic(metricsStatePath(config.stateDir), `${JSON.stringify(next)}\n`, 0o664);
      // Both users write it (prepull as the runner, prune as the service): group-shared.
      ensureSharedDir(path.dirname(textfile));
      writeFileAtomic(textfile, renderTextfile(next), 0o644);
    });
  } catch (e) {
    logger().warn({ textfile, err: (e as Error).message }, "could not write the metrics textfile");
  }
}

/** Count one prune (every outcome) and rewrite the textfile. Never throws. */
export function recordPruneMetrics(config: Config, p: PruneMetricsInput): Promise<void> {
  return update(config, (s) => applyPrune(s, p));
}

/** Count one prepull (its actions and error classes) and rewrite the textfile. Never throws. */
export function recordPrepullMetrics(
  config: Config,
  report: PrepullReport,
  at: Date = new Date(),
): Promise<void> {
  return update(config, (s) => applyPrepullReport(s, report, at));
}

/** One periodic update by `imagekeeper watch`: its counters, and the disk gauges when measured. Never throws. */
export function recordWatchMetrics(
  config: Config,
  w: WatchMetricsInput,
  disk: DiskGaugeInput | null,
): Promise<void> {
  return update(config, (s) => applyWatch(s, w, disk));
}
