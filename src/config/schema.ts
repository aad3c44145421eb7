// The config file (JSON), validated at the boundary. Every key has a default, so `{}` is a valid
// config; unknown keys are errors (a typo such as "highWatermark" must not silently do nothing).
// The NixOS module renders `services.imagekeeper.settings` into exactly this shape.
import { z } from "zod";
import { durationMs } from "../util/duration.js";
import { sizeBytes } from "../util/size.js";

const percent = z.number().min(1).max(100);

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
export const LOG_FORMATS = ["human", "json"] as const;

// Shape only here (5 or 6 fields); loadConfig checks the expression itself with cron-parser,
// loaded lazily because only prune and status need it.
export const CRON_HINT = 'write five fields, e.g. "0 2 * * *" for every day at 02:00';
const cron = z
  .string()
  .refine((s) => /^\S+(\s+\S+){4,5}$/.test(s.trim()), { message: `not a cron expression; ${CRON_HINT}` });

export const prepullSchema = z.strictObject({
  /**
   * Images pulled at once. 3 matches dockerd's default max-concurrent-downloads (layers at once,
   * daemon-wide, not reported by the API): raise both together.
   */
  concurrency: z.number().int().min(1).max(32).default(3),
  pullPolicy: z.enum(["auto", "missing", "always"]).default("auto"),
  /** Attempts per image for transient failures (1 = no retry). */
  retries: z.number().int().min(1).max(20).default(4),
  backoffBase: durationMs.prefault("2s"),
  backoffCap: durationMs.prefault("30s"),
  /** Deadline for the whole prepull. */
  timeout: durationMs.prefault("30m"),
  /** Without a terminal: a "still pulling" line per image after this long without one. */
  progressInterval: durationMs.prefault("10s"),
  /** A pull with no new bytes for this long (resolving or downloading) is reported as stalled. */
  stallAfter: durationMs.prefault("30s"),
  /**
   * Deprecated, ignored (issue 9): the auto policy now asks the registry for every tag's digest,
   * so no tag needs naming as mutable. Still accepted so existing configs load; prepull warns.
   */
  mutableTags: z.array(z.string().min(1)).optional(),
});

export const pruneSchema = z
  .strictObject({
    // Defaults tuned in the simulator (docs/performance.md): near-full percentages for big disks,
    // absolute free space for small ones, whichever is stricter.
    highWatermarkPercent: percent.default(95),
    lowWatermarkPercent: percent.default(85),
    criticalWatermarkPercent: percent.default(98),
    minAge: durationMs.prefault("24h"),
    keep: z.array(z.string().min(1)).default([]),
    /** Cron expression whose occurrences open the routine pruning window. */
    window: cron.nullable().default(null),
    /** How long the window stays open after each occurrence. */
    windowDuration: durationMs.prefault("1h"),
    buildCache: z.boolean().default(false),
    /** Images removed per `docker image rm` before the disk is measured again. */
    chunkSize: z.number().int().min(1).max(50).default(1),
    /**
     * Prune in the gaps between runs (src/prune/gap.ts): before a run takes its lease or a prepull
     * pulls, and the disk is (or would be) at the high watermark, drain and prune first.
     */
    beforeRuns: z.boolean().default(true),
    /**
     * How long a gap prune waits for live runs to finish before giving up (the run then proceeds).
     * Above the usual run length: a drain that gives up lets its pull land without a prune
     * (docs/performance.md: 10m, below the traces' longest runs, put 25 GiB over capacity).
     */
    gapWait: durationMs.prefault("15m"),
    /**
     * Absolute thresholds beside the percentages, as nix.conf's min-free/max-free: below minFree
     * free bytes a prune is due; it then frees until maxFree bytes are free (and usage is below
     * the low watermark). Null: percentages only. minFree is room for what runs pull while a drain
     * cannot happen; maxFree room for the runs that waited behind one. docs/prune.md.
     */
    minFree: sizeBytes.nullable().default(4 * 1024 ** 3),
    maxFree: sizeBytes.nullable().default(8 * 1024 ** 3),
    /**
     * How long the images of an app's latest prepull stay protected ("reserved"): the time between
     * a prepull and its deploy, when no container holds them yet.
     */
    reservation: durationMs.prefault("15m"),
  })
  .refine((p) => p.minFree === null || p.maxFree === null || p.minFree <= p.maxFree, {
    message: "prune.maxFree must be at least prune.minFree",
  })
  .refine((p) => p.lowWatermarkPercent < p.highWatermarkPercent, {
    message: "prune.lowWatermarkPercent must be below prune.highWatermarkPercent",
  })
  .refine((p) => p.highWatermarkPercent <= p.criticalWatermarkPercent, {
    message: "prune.criticalWatermarkPercent must be at least prune.highWatermarkPercent",
  });

export const configSchema = z.strictObject({
  stateDir: z.string().min(1).default("/var/lib/imagekeeper"),
  runDir: z.string().min(1).default("/run/imagekeeper"),
  /** The docker client to run (a path or a name on PATH). */
  docker: z.string().min(1).default("docker"),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  /** One readable line per event on stderr, or JSON lines (--log-format, IMAGEKEEPER_LOG_FORMAT). */
  logFormat: z.enum(LOG_FORMATS).default("human"),
  prepull: prepullSchema.prefault({}),
  prune: pruneSchema.prefault({}),
  lease: z
    .strictObject({
      /**
       * How long `imagekeeper run` waits for a prune in progress, or behind a drain. Above
       * prune.gapWait (plus the prune's own minutes): a run waits behind at most one drain, so it
       * is let in when that drain ends rather than going ahead of it (docs/leases.md).
       */
      wait: durationMs.prefault("20m"),
      /** Default TTL of `lease acquire` leases. */
      ttl: durationMs.prefault("6h"),
    })
    .prefault({}),
  ledger: z
    .strictObject({
      /** Forget images gone, and app+role image sets not renewed, for longer than this. */
      horizon: durationMs.prefault("30d"),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /** Prometheus textfile (node_exporter textfile collector), written atomically. */
      textfile: z.string().min(1).nullable().default(null),
    })
    .prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/**
 * A parsed config back in the form a config file is written in (durations as text such as "24h"),
 * which parses to the same config: what `config check` prints. Every transform in the schema must
 * therefore be a codec (see durationMs); test/unit/config.test.ts fails otherwise.
 */
export function configFileOf(config: Config): ConfigInput {
  return z.encode(configSchema, config);
}
