// `imagekeeper status [--json]`: the config file and dirs in effect, disk usage against the
// thresholds, the image store (images, bytes, what the policy could remove, what is not images),
// live run leases, the last prune (outcome, bytes freed as measured), the prune timer, the ledger's
// size, the next prune window and the last registry quota seen. Reads only.
import { z } from "zod";
import type { Config } from "../config/schema.js";
import { dockerEndpoint, Engine } from "../docker/engine.js";
import { listLeases } from "../lease/lease.js";
import { readContainers, readImages, readServices } from "../prune/facts.js";
import { type DiskUsage, measureDisk, reachedTarget, roundPercent, underPressure } from "../prune/measure.js";
import { planPrune } from "../prune/plan.js";
import { freeThresholdsText } from "../prune/report.js";
import { type StoreView, storeView } from "../prune/store.js";
import { PRUNE_TIMER, readTimer } from "../prune/timer.js";
import { windowState } from "../prune/window.js";
import { pruneRecordSchema, readPruneState } from "../state/last-prune.js";
import { applyChange, readLedger } from "../state/ledger.js";
import { quotaRecordSchema, readQuotaState } from "../state/quota.js";
import { formatBytes, formatDuration } from "../util/duration.js";
import { readWatchState, watchRunning } from "../watch/state.js";
import { parseFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

const HELP = `Usage: imagekeeper status [--json]

Shows the config file and the state and run dirs in effect; the filesystem holding Docker's root
dir against the prune thresholds (watermarks, minFree/maxFree); the image store: images, bytes of
layers, what the prune policy could remove and what a prune down to its target would remove now,
and how much of the disk is not images; live run leases (id, pid, command, since); the last
prune's outcome and the bytes it freed (measured); the prune timer's last and next run (systemd);
the prepull ledger's size, the next opening of prune.window, the last pull quota prepull saw per
registry (Docker Hub's rate limit), and whether imagekeeper watch is running and its last event.
Changes nothing, signals nothing.

Exit status:
  0        shown
  2        bad input (usage, bad config)
  3        Docker daemon unreachable
  70       an internal error (e.g. the run dir or the state dir not readable)
  130/143  interrupted by SIGINT/SIGTERM`;

export const statusSchema = z.strictObject({
  disk: z.strictObject({
    path: z.string(),
    usedPercent: z.number(),
    freeBytes: z.number(),
    totalBytes: z.number(),
    watermarks: z.strictObject({
      low: z.number(),
      high: z.number(),
      critical: z.number(),
      /** prune.minFree / prune.maxFree in bytes; null when off (docs/prune.md, "Thresholds"). */
      minFree: z.number().nullable(),
      maxFree: z.number().nullable(),
    }),
    /**
     * Where the disk stands (measure.ts, as a prune judges it): below-low (the target is reached:
     * below the low watermark with maxFree free), between, above-high (under pressure: at or above
     * the high watermark, or less than minFree free), critical.
     */
    level: z.enum(["below-low", "between", "above-high", "critical"]),
  }),
  leases: z.array(
    z.strictObject({
      id: z.string(),
      pid: z.number(),
      command: z.string(),
      since: z.string(),
      kind: z.enum(["run", "acquired"]),
      expiresAt: z.string().optional(),
    }),
  ),
  lastPrune: pruneRecordSchema.nullable(),
  lastCompletedPrune: pruneRecordSchema.nullable(),
  consecutiveDeferrals: z.number(),
  ledger: z.strictObject({
    images: z.number(),
    /** App+role image sets (each prepull renews its own). */
    needSets: z.number(),
  }),
  window: z.strictObject({
    cron: z.string().nullable(),
    durationMs: z.number(),
    open: z.boolean(),
    closesAt: z.string().nullable(),
    nextOpen: z.string().nullable(),
  }),
  /** The last pull quota prepull saw per registry (Docker Hub's ratelimit headers). */
  quota: z.array(z.strictObject({ registry: z.string(), ...quotaRecordSchema.shape })),
  /** The config file read (null: none, all defaults) and the dirs in effect. */
  paths: z.strictObject({ config: z.string().nullable(), stateDir: z.string(), runDir: z.string() }),
  /** The image store (src/prune/store.ts). */
  store: z.strictObject({
    images: z.number(),
    /** Image layers on disk, shared layers once (`docker system df`); null when not known. */
    bytes: z.number().nullable(),
    /** Every image the prune policy lets a prune remove now. */
    removable: z.strictObject({ images: z.number(), bytes: z.number() }),
    /** What a prune down to its target would remove now (by image sizes). */
    reclaimable: z.strictObject({ images: z.number(), bytes: z.number() }),
    /** Used bytes of the filesystem that are not image layers. */
    nonImageBytes: z.number().nullable(),
  }),
  /** imagekeeper-prune.timer (systemd); null when there is none. */
  timer: z
    .strictObject({ unit: z.string(), lastRun: z.string().nullable(), nextRun: z.string().nullable() })
    .nullable(),
  /** `imagekeeper watch` (docs/watch.md): is it running, and how far has it got. */
  watch: z.strictObject({
    /** A watch holds STATE_DIR/watch.lock now (the kernel's word). */
    running: z.boolean(),
    /** Following the daemon's events, as of watch's last write (null: watch never ran). */
    connected: z.boolean().nullable(),
    /** The last engine event recorded (ISO), from STATE_DIR/watch.json. */
    lastEventAt: z.string().nullable(),
    /** The last reconciliation from the containers and images present. */
    reconciledAt: z.string().nullable(),
  }),
  /** Damaged state files and similar: each names the file. */
  problems: z.array(z.string()),
});
export type Status = z.output<typeof statusSchema>;

export const statusCommand: CommandSpec = {
  name: "status",
  summary: "disk usage, live leases, last prune, ledger size",
  help: HELP,
  options: { json: { type: "boolean" } },
  async run(ctx, values) {
    const f = parseFlags("status", z.looseObject({ json: z.boolean().optional() }), values);
    const { config } = ctx;
    const p = config.prune;
    const engine = new Engine(dockerEndpoint(ctx.env));
    const root = (await engine.info()).DockerRootDir;
    const disk = await measureDisk(root);
    const now = new Date();
    const [leases, window] = await Promise.all([
      listLeases(config.runDir),
      windowState(p.window, p.windowDuration, now),
    ]);
    const ledger = readLedger(config.stateDir);
    const pruneState = readPruneState(config.stateDir);
    const quotaState = readQuotaState(config.stateDir);
    const watchState = readWatchState(config.stateDir);
    const running = await watchRunning(config.stateDir);
    const level = diskLevel(disk, p);
    const [store, timer] = await Promise.all([
      readStore(engine, config, disk, now, leases, window),
      readTimer(PRUNE_TIMER, ctx.env),
    ]);
    const status = statusSchema.parse({
      disk: {
        path: root,
        usedPercent: roundPercent(disk.usedPercent),
        freeBytes: disk.freeBytes,
        totalBytes: disk.totalBytes,
        watermarks: {
          low: p.lowWatermarkPercent,
          high: p.highWatermarkPercent,
          critical: p.criticalWatermarkPercent,
          minFree: p.minFree,
          maxFree: p.maxFree,
        },
        level,
      },
      paths: { config: ctx.configPath ?? null, stateDir: config.stateDir, runDir: config.runDir },
      store,
      timer,
      leases,
      lastPrune: pruneState.state.last,
      lastCompletedPrune: pruneState.state.lastCompleted,
      consecutiveDeferrals: pruneState.state.consecutiveDeferrals,
      ledger: {
        images: Object.keys(ledger.ledger.images).length,
        needSets: Object.keys(ledger.ledger.needs).length,
      },
      window: {
        cron: p.window,
        durationMs: p.windowDuration,
        open: window.open,
        closesAt: window.closesAt,
        nextOpen: window.nextOpen,
      },
      quota: Object.entries(quotaState.state.registries).map(([registry, q]) => ({ registry, ...q })),
      watch: {
        running,
        connected: running ? (watchState.state?.connected ?? null) : watchState.state ? false : null,
        lastEventAt: watchState.state?.lastEventAt ?? null,
        reconciledAt: watchState.state?.reconciledAt ?? null,
      },
      problems: [ledger.problem, pruneState.problem, quotaState.problem, watchState.problem].filter(
        (x): x is string => x !== undefined,
      ),
    });
    ctx.out(f.json ? `${JSON.stringify(status)}\n` : renderStatus(status, now));
    return { kind: "ok" };
  },
};

/** Where the disk stands, by the same thresholds a prune uses (src/prune/measure.ts). */
export function diskLevel(d: DiskUsage, p: Config["prune"]): Status["disk"]["level"] {
  if (d.usedPercent >= p.criticalWatermarkPercent) return "critical";
  if (underPressure(d, p)) return "above-high";
  return reachedTarget(d, p) ? "below-low" : "between";
}

/** The store as the prune planner sees it (a dry run's facts: the ledger is read, not written). */
async function readStore(
  engine: Engine,
  config: Config,
  disk: DiskUsage,
  now: Date,
  leases: Awaited<ReturnType<typeof listLeases>>,
  window: Awaited<ReturnType<typeof windowState>>,
): Promise<StoreView> {
  const [images, containers, services, layers] = await Promise.all([
    readImages(engine),
    readContainers(engine),
    readServices(engine),
    engine.layersSize().catch(() => undefined),
  ]);
  const read = readLedger(config.stateDir);
  const ledger = applyChange(
    read.ledger,
    { sighting: { at: now.getTime(), present: images.map((i) => i.id) } },
    now.getTime(),
    { horizonMs: config.ledger.horizon },
  );
  const plan = planPrune({ now, disk, images, containers, services, ledger, window, leases }, config.prune);
  return storeView(plan, images.length, layers ?? null, disk, config.prune.chunkSize);
}

const LEVEL_TEXT: Record<Status["disk"]["level"], string> = {
  "below-low": "below the low watermark (a prune's target)",
  between: "between the low and high watermarks: no prune needed",
  "above-high":
    "under pressure (at or above the high watermark, or less than minFree free): the next prune (in its window) removes images",
  critical: "at or above the critical watermark: the next prune runs even outside its window",
};

export function renderStatus(s: Status, now: Date): string {
  const ago = (iso: string) => `${formatDuration(Math.max(0, now.getTime() - Date.parse(iso)))} ago`;
  const d = s.disk;
  const wm = d.watermarks;
  const st = s.store;
  const lines = [
    `config   ${s.paths.config ?? "none (all defaults)"}`,
    `dirs     state ${s.paths.stateDir}, run ${s.paths.runDir}`,
    `disk     ${d.path}: ${d.usedPercent}% used, ${formatBytes(d.freeBytes)} free of ${formatBytes(d.totalBytes)}; watermarks low ${wm.low}%, high ${wm.high}%, critical ${wm.critical}%${freeThresholdsText(wm)}`,
    `         ${LEVEL_TEXT[d.level]}`,
    `store    ${st.images} image(s)${st.bytes !== null ? `, ${formatBytes(st.bytes)} of layers` : ""}${st.nonImageBytes !== null ? `; ${formatBytes(st.nonImageBytes)} of the disk is not images (containers, volumes, build cache, other files)` : ""}`,
    `         removable under the policy: ${st.removable.images} image(s), ${formatBytes(st.removable.bytes)}; a prune down to its target would remove ${st.reclaimable.images} (${formatBytes(st.reclaimable.bytes)})`,
  ];
  if (!s.leases.length) lines.push("leases   none");
  else {
    lines.push(`leases   ${s.leases.length} live (a prune now would be deferred)`);
    for (const l of s.leases)
      lines.push(
        `         ${l.id}  pid ${l.pid}  since ${l.since} (${ago(l.since)})  ${l.kind}${l.expiresAt ? ` until ${l.expiresAt}` : ""}  ${l.command}`,
      );
  }
  const last = s.lastPrune;
  if (!last) lines.push("prune    never ran (no record in the state dir)");
  else {
    lines.push(`prune    last: ${last.outcome} ${ago(last.at)} (${last.at}): ${last.reason}`);
    const c = s.lastCompletedPrune;
    if (c)
      lines.push(
        `         last removal run: ${c.outcome} ${ago(c.at)}, freed ${formatBytes(c.bytesFreed)} (measured), ${c.imagesRemoved} image(s) removed`,
      );
    if (s.consecutiveDeferrals > 1)
      lines.push(`         deferred ${s.consecutiveDeferrals} times in a row by run leases`);
  }
  lines.push(
    s.timer === null
      ? "timer    none (no systemd, or no imagekeeper-prune.timer)"
      : `timer    ${s.timer.unit}: last ran ${s.timer.lastRun ?? "never"}; next ${s.timer.nextRun ?? "not scheduled"}`,
  );
  lines.push(`ledger   ${s.ledger.images} image(s) with history; ${s.ledger.needSets} app image set(s)`);
  const w = s.window;
  lines.push(
    w.cron === null
      ? "window   none configured: routine prunes may run at any time"
      : `window   "${w.cron}" for ${formatDuration(w.durationMs)}: ${w.open ? `open until ${w.closesAt}` : "closed"}${w.nextOpen ? `; next opens ${w.nextOpen}` : ""}`,
  );
  for (const q of s.quota) {
    const window = q.windowSeconds === null ? "" : ` per ${formatDuration(q.windowSeconds * 1000)}`;
    const since = q.pulledAfter ? `, then ${q.pulledAfter} pulled` : "";
    const reset = q.resetBy === null ? "" : `; reset by ${new Date(q.resetBy).toISOString()}`;
    lines.push(
      `quota    ${q.registry}: ${q.remaining} of ${q.limit} pulls left${window} ${ago(new Date(q.at).toISOString())}${since}${reset}${q.source ? ` (counted against ${q.source})` : ""}`,
    );
  }
  const wa = s.watch;
  const lastEvent = wa.lastEventAt
    ? `last event ${ago(wa.lastEventAt)} (${wa.lastEventAt})`
    : "no event recorded yet";
  lines.push(
    wa.running
      ? `watch    running${wa.connected === false ? ", waiting for the Docker daemon" : ""}; ${lastEvent}`
      : `watch    not running: uses come from prepull only${wa.lastEventAt ? `; ${lastEvent}` : ""}`,
  );
  for (const p of s.problems) lines.push(`problem  ${p}`);
  return `${lines.join("\n")}\n`;
}
