// One prune, start to finish: gather the facts, plan (plan.ts), take the exclusive lock (or use
// the one the caller holds), execute (execute.ts), record (last-prune.json, metrics). The `prune`
// command and the gap prune before a run (gap-prune.ts) both call this, so a prune is the same
// whoever started it. Step order: measure → below high: no-pressure → outside the window and
// below critical: outside-window → any live run lease: deferred → exclusive lock → measure again
// and plan → dangling step → re-measure → removal loop → pruned or insufficient.
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { Docker } from "../docker/cli.js";
import type { Engine } from "../docker/engine.js";
import { ToolError } from "../errors.js";
import { type ExclusiveLock, listLeases, tryExclusive } from "../lease/lease.js";
import { recordPruneMetrics } from "../metrics/textfile.js";
import type { PruneOutcome } from "../model/prune-outcome.js";
import { appendJournal, pruneEntries } from "../state/journal.js";
import { recordPrune } from "../state/last-prune.js";
import { applyChange, type Ledger, readLedger, recordLedger } from "../state/ledger.js";
import { formatBytes } from "../util/duration.js";
import { atUsage } from "./assume.js";
import { type ExecutionResult, executePlan, type Removed } from "./execute.js";
import { listImageIds, readContainers, readImages, readServices } from "./facts.js";
import { type DiskUsage, measureDisk, roundPercent, targetFreeBytes } from "./measure.js";
import { specNamesImage } from "./names.js";
import {
  blockedSummary,
  decideGate,
  type ImageFact,
  type PrunePlan,
  planPrune,
  type ReservedImage,
} from "./plan.js";
import { dryRunResultOf, type PruneResult, resultOf } from "./report.js";
import { ALWAYS_OPEN, windowState } from "./window.js";

export interface PruneDeps {
  config: Config;
  engine: Engine;
  docker: Docker;
  log: Logger;
  signal?: AbortSignal;
}

export interface PruneOptions {
  /** Plan only: change nothing, record nothing. */
  dryRun?: boolean;
  /** Dry run only: plan as if usage were this percent of the filesystem. */
  assumeUsagePercent?: number;
  /**
   * Bytes about to be pulled (a gap prune before a prepull), passed to the planner as
   * PruneFacts.incomingBytes: the gate and the target (and so the executor's stopping point) judge
   * the disk as it will be once they have arrived.
   */
  incomingBytes?: number;
  /** Images to keep whatever the policy says (a triggering prepull's own images): PruneFacts.reserved. */
  reserved?: readonly ReservedImage[];
  /**
   * The exclusive prune lock, already held by the caller (a gap prune, after its drain): no
   * deferral, and the caller releases it. Without it the prune takes the lock without waiting and
   * defers when any run lease is live.
   */
  lock?: ExclusiveLock;
  /** Ignore prune.window (a gap prune: the run about to start needs the room now). */
  ignoreWindow?: boolean;
  /** Who started this prune, in its logged and recorded reason (e.g. "before imagekeeper run"). */
  trigger?: string;
  /** Told of each removal as the daemon confirms it (the prune command's line per removal on a terminal). */
  onRemoved?: (r: Removed) => void;
}

export interface PruneRun {
  outcome: PruneOutcome;
  reason: string;
  /** Usage before, as measured (modelled when assumeUsagePercent is set; incoming bytes not included). */
  before: DiskUsage;
  after: DiskUsage;
  plan: PrunePlan | null;
  exec: ExecutionResult | null;
  /** The `prune --json` document (for a dry run: what a prune now is expected to do). */
  result: PruneResult;
  dryRun: boolean;
  /** The prune's "now" (the planner's clock). */
  at: Date;
}

export async function runPrune(deps: PruneDeps, opts: PruneOptions = {}): Promise<PruneRun> {
  const { config, engine, log } = deps;
  const cfg = config.prune;
  const dryRun = opts.dryRun ?? false;
  if (opts.assumeUsagePercent !== undefined && !dryRun)
    throw new ToolError("runPrune: assumeUsagePercent is for dry runs only");
  const incoming = Math.max(0, opts.incomingBytes ?? 0);
  const model = (d: DiskUsage) =>
    opts.assumeUsagePercent !== undefined ? atUsage(d, opts.assumeUsagePercent) : d;
  const w = {
    low: cfg.lowWatermarkPercent,
    high: cfg.highWatermarkPercent,
    critical: cfg.criticalWatermarkPercent,
  };
  const root = (await engine.info()).DockerRootDir;
  const now = new Date();
  const measured = await measureDisk(root);
  const before = model(measured);
  const assumed =
    opts.assumeUsagePercent !== undefined
      ? ` (assumed ${opts.assumeUsagePercent}%: --assume-usage)`
      : incoming > 0
        ? ` (plus ${formatBytes(incoming)} about to be pulled)`
        : "";
  log.info(
    {
      step: "measure",
      path: root,
      usedPercent: roundPercent(before.usedPercent),
      freeBytes: before.freeBytes,
      ...(incoming > 0 ? { incomingBytes: incoming } : {}),
    },
    `usage ${roundPercent(before.usedPercent)}% of ${root}${assumed}`,
  );

  // First sightings are recorded on every prune, pressure or not: when pressure comes, an image's
  // first-seen age is then close to its real age. A dry run records nothing.
  const ledger = await sightings(config, await listImageIds(engine), now, dryRun, log);
  const window = opts.ignoreWindow ? ALWAYS_OPEN : await windowState(cfg.window, cfg.windowDuration, now);
  const reserved = opts.reserved ?? [];

  const gather = async (
    disk: DiskUsage,
    leases: Awaited<ReturnType<typeof listLeases>>,
  ): Promise<{ images: ImageFact[]; plan: PrunePlan }> => {
    const [images, containers, services] = await Promise.all([
      readImages(engine),
      readContainers(engine),
      readServices(engine),
    ]);
    const plan = planPrune(
      { now, disk, images, containers, services, ledger, window, leases, reserved, incomingBytes: incoming },
      cfg,
    );
    return { images, plan };
  };

  if (dryRun) {
    const { plan } = await gather(before, opts.lock ? [] : await listLeases(config.runDir));
    const result = dryRunResultOf(plan);
    return {
      outcome: plan.outcome,
      reason: plan.gate.reason,
      before,
      after: before,
      plan,
      exec: null,
      result,
      dryRun,
      at: now,
    };
  }

  const by = opts.trigger ? ` (${opts.trigger})` : "";
  const finish = async (
    outcome: PruneOutcome,
    reason: string,
    after: DiskUsage,
    plan: PrunePlan | null,
    exec: ExecutionResult | null,
  ): Promise<PruneRun> => {
    const result = resultOf(outcome, before, after, plan, exec);
    const freed = after.freeBytes - before.freeBytes;
    const level = outcome === "insufficient" ? "warn" : "info";
    log[level](
      { outcome, reason, freedBytes: freed, removed: result.removed.length },
      `prune ${outcome}${by}: ${reason}`,
    );
    const rec = await recordPrune(config.stateDir, {
      at: now.toISOString(),
      outcome,
      reason: `${reason}${by}`,
      before: { usedPercent: roundPercent(before.usedPercent), freeBytes: before.freeBytes },
      after: { usedPercent: roundPercent(after.usedPercent), freeBytes: after.freeBytes },
      bytesFreed: exec ? freed : 0,
      imagesRemoved: result.removed.length,
      ...(outcome === "insufficient" && plan ? { blocked: blockedSummary(plan.kept) } : {}),
    }).catch((e: unknown) => ({ problem: `could not record the prune: ${(e as Error).message}` }));
    if (rec.problem) log.warn({ problem: rec.problem }, "the last-prune state file was damaged; rewritten");
    // History for `imagekeeper history` (the prune and each removal); never fails the prune.
    const removed = exec
      ? exec.removed.map((r, i) => ({ ...result.removed[i]!, sizeBytes: r.image.sizeBytes }))
      : [];
    await appendJournal(
      config.stateDir,
      pruneEntries({ ...result, at: now, reason: `${reason}${by}`, freedBytes: exec ? freed : 0, removed }),
    );
    await recordPruneMetrics(config, {
      at: now,
      outcome,
      freedBytes: exec ? freed : 0,
      imagesRemoved: result.removed.length,
      usageRatio: after.usedPercent / 100,
      watermarks: { low: w.low / 100, high: w.high / 100, critical: w.critical / 100 },
    });
    return { outcome, reason, before, after, plan, exec, result, dryRun, at: now };
  };

  const gate = decideGate(before, cfg, window, [], incoming);
  if (!gate.proceed) return finish(gate.outcome, gate.reason, before, null, null);

  let lock = opts.lock;
  let ownLock: ExclusiveLock | undefined;
  if (!lock) {
    const ex = await tryExclusive(config.runDir);
    if (!ex.ok) {
      const deferred = decideGate(before, cfg, window, ex.leases, incoming);
      const reason =
        !deferred.proceed && deferred.outcome === "deferred"
          ? deferred.reason
          : "the prune lock is held (another prune, or a run taking its lease right now)";
      log.info({ step: "defer", leases: ex.leases }, `deferring: ${reason}`);
      return finish("deferred", reason, before, null, null);
    }
    lock = ownLock = ex.lock;
  }
  try {
    // Under the lock, no run starts: measure again and plan on what is there now.
    const measure = async () => model(await measureDisk(root));
    const disk = await measure();
    const { images, plan } = await gather(disk, []);
    log.info(
      {
        step: "plan",
        removable: plan.removable.length,
        kept: plan.kept.length,
        targetBytes: plan.targetBytes,
        dangling: plan.dangling.method,
      },
      `plan: ${plan.removable.length} removable, ${plan.kept.length} kept; ${plan.gate.reason}`,
    );
    if (!plan.gate.proceed) return await finish(plan.gate.outcome, plan.gate.reason, disk, plan, null);
    const byId = new Map(images.map((i) => [i.id, i]));
    const exec = await executePlan(plan, cfg, {
      docker: deps.docker,
      measure,
      exists: async (id) => (await engine.inspectImage(id)) !== undefined,
      protectionNow: async () => {
        const [cs, ss] = await Promise.all([readContainers(engine), readServices(engine)]);
        return (img) => {
          const c = cs.find((x) => x.imageId === img.id);
          if (c) return `used by container ${c.name} (${c.state})`;
          const fact = byId.get(img.id);
          if (!fact) return null;
          const s = ss.find((x) => x.image !== null && specNamesImage(x.image, fact));
          if (s) return `named by the spec of swarm service ${s.name}`;
          const p = ss.find((x) => x.previousImage !== null && specNamesImage(x.previousImage, fact));
          if (p) return `named by the previous spec of swarm service ${p.name}`;
          return null;
        };
      },
      log,
      ...(deps.signal ? { signal: deps.signal } : {}),
      // Removal children hold the lock too, so it outlives no removal (even if we are SIGKILLed).
      lockFd: lock.fd,
      ...(opts.onRemoved ? { onRemoved: opts.onRemoved } : {}),
    });
    const blocked = `nothing else may be removed (blocked: ${blockedSummary(plan.kept)
      .map((b) => `${b.code} ${b.images}`)
      .join(", ")}${exec.skipped.length ? `, skipped ${exec.skipped.length}` : ""})`;
    const reason =
      exec.outcome === "pruned"
        ? `${targetText(exec.after, cfg, incoming)} reached`
        : `${targetText(exec.after, cfg, incoming)} not reached: ${blocked}`;
    return await finish(exec.outcome, reason, exec.after, plan, exec);
  } finally {
    await ownLock?.release();
  }
}

/**
 * The disk against the prune's target (measure.ts reachedTarget, which the executor stops on): usage
 * below the low watermark, with prune.maxFree (else minFree) free, room for the incoming bytes
 * included. The caller says whether it was reached.
 */
export function targetText(d: DiskUsage, cfg: Config["prune"], incomingBytes: number): string {
  const free = targetFreeBytes(cfg);
  const plus = incomingBytes > 0 ? ` plus ${formatBytes(incomingBytes)} about to be pulled` : "";
  const want = `the target (below the low watermark ${cfg.lowWatermarkPercent}%${free > 0 ? `, ${formatBytes(free)} free` : ""}${plus})`;
  const now = `usage ${roundPercent(d.usedPercent)}%, ${formatBytes(d.freeBytes)} free`;
  return `${now}: ${want}`;
}

/** Record a sighting of every image (in memory only for a dry run); report a damaged ledger. */
async function sightings(
  config: Config,
  ids: string[],
  now: Date,
  dryRun: boolean,
  log: Logger,
): Promise<Ledger> {
  const { stateDir } = config;
  const horizonMs = config.ledger.horizon;
  const warn = (problem: string) =>
    log.warn(
      { problem },
      `the ledger could not be used${dryRun ? "" : ": it was set aside and rebuilt"}; images without history count as first seen now, so nothing is removed as old`,
    );
  const change = { sighting: { at: now.getTime(), present: ids } };
  if (dryRun) {
    const r = readLedger(stateDir);
    if (r.problem) warn(r.problem);
    return applyChange(r.ledger, change, now.getTime(), { horizonMs });
  }
  try {
    const r = await recordLedger(stateDir, change, { now: now.getTime(), horizonMs });
    if (r.problem) warn(r.problem);
    return r.ledger;
  } catch (e) {
    throw new ToolError(`cannot update the ledger in ${stateDir}: ${(e as Error).message}`, {
      hint: "The prune records sightings of images there: make stateDir (IMAGEKEEPER_STATE_DIR) writable for this user.",
      cause: e,
    });
  }
}
