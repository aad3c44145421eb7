// `imagekeeper prune [--dry-run] [--json]`: wiring only. The policy is decided in src/prune/plan.ts
// and carried out by src/prune/execute.ts; this file gathers the facts, takes the prune lock, and
// records and prints what happened. Step order: measure → below high: no-pressure → outside the
// window and below critical: outside-window → any live run lease: deferred → exclusive lock →
// measure again and plan → dangling step → re-measure → removal loop → pruned or insufficient.
import { z } from "zod";
import { docker } from "../docker/cli.js";
import { dockerEndpoint, Engine } from "../docker/engine.js";
import { ToolError } from "../errors.js";
import { listLeases, tryExclusive } from "../lease/lease.js";
import { logger } from "../log.js";
import type { PruneOutcome } from "../model/prune-outcome.js";
import { recordPruneMetrics } from "../metrics/textfile.js";
import { type ExecutionResult, executePlan } from "../prune/execute.js";
import { listImageIds, readContainers, readImages, readServices } from "../prune/facts.js";
import { type DiskUsage, measureDisk, roundPercent } from "../prune/measure.js";
import { specNamesImage } from "../prune/names.js";
import { blockedSummary, decideGate, type ImageFact, type PrunePlan, planPrune } from "../prune/plan.js";
import { dryRunResultOf, renderPlan, renderResult, resultOf } from "../prune/report.js";
import { windowState } from "../prune/window.js";
import { appendJournal, pruneEntries } from "../state/journal.js";
import { recordPrune } from "../state/last-prune.js";
import { applyChange, type Ledger, readLedger, recordLedger } from "../state/ledger.js";
import { parseFlags } from "./flags.js";
import type { CommandContext, CommandSpec, Outcome } from "./types.js";

const HELP = `Usage: imagekeeper prune [--dry-run] [--json]

Frees disk by the prune policy (docs/prune.md), and only under pressure: below
prune.highWatermarkPercent nothing happens; outside prune.window only usage at or above
prune.criticalWatermarkPercent prunes; with any live run lease (imagekeeper run, lease acquire) the
prune is deferred. Otherwise: dangling images older than prune.minAge, then unused images in
eviction order (superseded first, then farthest predicted next use), one at a time, measuring
the disk after each, until usage is below prune.lowWatermarkPercent. Never --force, never --all,
never containers or volumes.

Never removed: images of any container (any state), of a swarm service's spec or previous
(rollback) spec, matching prune.keep, or used less than prune.minAge ago.

Options:
  --dry-run  print the whole plan (each image kept or removable, why, last use, size, order);
             change nothing
  --json     print one JSON document: {outcome, before, after, removed, kept}

Exit status:
  0        every outcome (no-pressure, deferred, outside-window, pruned, insufficient)
  2        bad input (usage, bad config)
  3        Docker daemon unreachable
  70       an internal error (e.g. the run dir or the state dir not usable, flock missing)
  130/143  interrupted by SIGINT/SIGTERM: the removal in progress finishes, nothing more is
           removed`;

const flagsSchema = z.looseObject({ "dry-run": z.boolean().optional(), json: z.boolean().optional() });

export const pruneCommand: CommandSpec = {
  name: "prune",
  summary: "remove unused images under disk pressure, by the prune policy",
  help: HELP,
  options: { "dry-run": { type: "boolean" }, json: { type: "boolean" } },
  async run(ctx, values) {
    const f = parseFlags("prune", flagsSchema, values);
    return prune(ctx, { dryRun: f["dry-run"] ?? false, json: f.json ?? false });
  },
};

interface Gathered {
  images: ImageFact[];
  plan: PrunePlan;
}

async function prune(ctx: CommandContext, opts: { dryRun: boolean; json: boolean }): Promise<Outcome> {
  const log = logger();
  const { config } = ctx;
  const cfg = config.prune;
  const w = {
    low: cfg.lowWatermarkPercent,
    high: cfg.highWatermarkPercent,
    critical: cfg.criticalWatermarkPercent,
  };
  const engine = new Engine(dockerEndpoint(ctx.env));
  const root = (await engine.info()).DockerRootDir;
  const now = new Date();
  const before = await measureDisk(root);
  log.info(
    {
      step: "measure",
      path: root,
      usedPercent: roundPercent(before.usedPercent),
      freeBytes: before.freeBytes,
    },
    `usage ${roundPercent(before.usedPercent)}% of ${root}`,
  );

  // First sightings are recorded on every prune, pressure or not: when pressure comes, an image's
  // first-seen age is then close to its real age. A dry run records nothing.
  const ledger = await sightings(config, await listImageIds(engine), now, opts.dryRun);
  const window = await windowState(cfg.window, cfg.windowDuration, now);

  const gather = async (
    disk: DiskUsage,
    leases: Awaited<ReturnType<typeof listLeases>>,
  ): Promise<Gathered> => {
    const [images, containers, services] = await Promise.all([
      readImages(engine),
      readContainers(engine),
      readServices(engine),
    ]);
    const plan = planPrune({ now, disk, images, containers, services, ledger, window, leases }, cfg);
    return { images, plan };
  };

  if (opts.dryRun) {
    const { plan } = await gather(before, await listLeases(config.runDir));
    ctx.out(opts.json ? `${JSON.stringify(dryRunResultOf(plan))}\n` : renderPlan(plan, w, now));
    return { kind: "ok" };
  }

  const finish = async (
    outcome: PruneOutcome,
    reason: string,
    after: DiskUsage,
    plan: PrunePlan | null,
    exec: ExecutionResult | null,
  ): Promise<Outcome> => {
    const result = resultOf(outcome, before, after, plan, exec);
    const freed = after.freeBytes - before.freeBytes;
    const level = outcome === "insufficient" ? "warn" : "info";
    log[level](
      { outcome, reason, freedBytes: freed, removed: result.removed.length },
      `prune ${outcome}: ${reason}`,
    );
    const rec = await recordPrune(config.stateDir, {
      at: now.toISOString(),
      outcome,
      reason,
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
      pruneEntries({ ...result, at: now, reason, freedBytes: exec ? freed : 0, removed }),
    );
    await recordPruneMetrics(config, {
      at: now,
      outcome,
      freedBytes: exec ? freed : 0,
      imagesRemoved: result.removed.length,
      usageRatio: after.usedPercent / 100,
      watermarks: { low: w.low / 100, high: w.high / 100, critical: w.critical / 100 },
    });
    ctx.out(opts.json ? `${JSON.stringify(result)}\n` : renderResult(result, reason, before, after, w, plan));
    return { kind: "ok" };
  };

  const gate = decideGate(before, cfg, window, []);
  if (!gate.proceed) return finish(gate.outcome, gate.reason, before, null, null);

  const ex = await tryExclusive(config.runDir);
  if (!ex.ok) {
    const deferred = decideGate(before, cfg, window, ex.leases);
    const reason =
      !deferred.proceed && deferred.outcome === "deferred"
        ? deferred.reason
        : "the prune lock is held (another prune, or a run taking its lease right now)";
    log.info({ step: "defer", leases: ex.leases }, `deferring: ${reason}`);
    return finish("deferred", reason, before, null, null);
  }
  try {
    // Under the lock, no run starts: measure again and plan on what is there now.
    const disk = await measureDisk(root);
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
      docker: docker(config.docker),
      measure: () => measureDisk(root),
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
      signal: ctx.signal,
      // Removal children hold the lock too, so it outlives no removal (even if we are SIGKILLed).
      lockFd: ex.lock.fd,
    });
    const reason =
      exec.outcome === "pruned"
        ? `usage ${roundPercent(exec.after.usedPercent)}% is below the low watermark (${w.low}%)`
        : `usage ${roundPercent(exec.after.usedPercent)}% is still at or above the low watermark (${w.low}%): nothing else may be removed (blocked: ${blockedSummary(
            plan.kept,
          )
            .map((b) => `${b.code} ${b.images}`)
            .join(", ")}${exec.skipped.length ? `, skipped ${exec.skipped.length}` : ""})`;
    return await finish(exec.outcome, reason, exec.after, plan, exec);
  } finally {
    await ex.lock.release();
  }
}

/** Record a sighting of every image (in memory only for a dry run); report a damaged ledger. */
async function sightings(
  config: CommandContext["config"],
  ids: string[],
  now: Date,
  dryRun: boolean,
): Promise<Ledger> {
  const { stateDir } = config;
  const horizonMs = config.ledger.horizon;
  const warn = (problem: string) =>
    logger().warn(
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
