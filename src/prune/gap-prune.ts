// The gap prune, carried out (issue 8). Just before a run takes its lease (`imagekeeper run`,
// `lease acquire`) and before a prepull pulls, measure the disk and ask gapPruneDecision (gap.ts,
// the rule the simulator shares). If a prune is needed: drain the host (src/lease/drain.ts: runs
// arriving now wait behind us; live ones are waited for, at most prune.gapWait), prune with the
// normal policy under the exclusive lock (run-prune.ts, the same function `imagekeeper prune`
// runs) with the caller's own images reserved, release, and let the caller go on. Never fatal:
// whatever goes wrong here, the run or pull proceeds, with a warning.
import type { Config } from "../config/schema.js";
import { docker } from "../docker/cli.js";
import { dockerEndpoint, Engine } from "../docker/engine.js";
import { callerHoldsLease, drainAndLock } from "../lease/drain.js";
import { logger } from "../log.js";
import { formatBytes, formatDuration } from "../util/duration.js";
import { gapPruneDecision } from "./gap.js";
import { measureDisk } from "./measure.js";
import type { ReservedImage } from "./plan.js";
import { type PruneRun, runPrune } from "./run-prune.js";

export interface GapPruneRequest {
  /** Who asks, for messages: "imagekeeper run", "imagekeeper lease acquire", "imagekeeper prepull". */
  what: string;
  /** What the caller is about to do once there is room: "the run starts", "pulling". */
  before: string;
  /** Bytes the caller is about to pull (0 when unknown, or for a run). */
  incomingBytes: number;
  /** The caller's own images: kept by this prune whatever the policy says (PruneFacts.reserved). */
  reserved: readonly ReservedImage[];
  signal?: AbortSignal;
}

export type GapPruneResult =
  /** No prune was needed (or allowed): the caller goes on at once. */
  | { kind: "not-needed"; reason: string }
  /** A prune ran (its outcome may be insufficient, or no-pressure if another prune got there first). */
  | { kind: "pruned"; run: PruneRun; waitedMs: number }
  /** Live runs outlasted prune.gapWait: no prune; the caller goes on. */
  | { kind: "gave-up"; reason: string; waitedMs: number }
  /** The caller was interrupted while waiting. */
  | { kind: "aborted" }
  /** Something failed (daemon unreachable, …): logged; the caller goes on. */
  | { kind: "failed"; reason: string };

export async function gapPrune(
  ctx: { config: Config; env: NodeJS.ProcessEnv },
  req: GapPruneRequest,
): Promise<GapPruneResult> {
  const log = logger();
  const { config } = ctx;
  const cfg = config.prune;
  if (!cfg.beforeRuns) return { kind: "not-needed", reason: "prune.beforeRuns is off" };
  const inside = await callerHoldsLease(config.runDir, ctx.env).catch(() => undefined);
  if (inside) {
    log.debug(
      { lease: inside },
      `${req.what}: inside run lease ${inside}: no gap prune (it would wait for its own run)`,
    );
    return { kind: "not-needed", reason: `inside run lease ${inside}` };
  }
  let engine: Engine;
  let reason: string;
  try {
    engine = new Engine(dockerEndpoint(ctx.env));
    const disk = await measureDisk((await engine.info()).DockerRootDir);
    const d = gapPruneDecision(disk, req.incomingBytes, cfg);
    if (!d.prune) {
      log.debug({ incomingBytes: req.incomingBytes }, `${req.what}: no gap prune: ${d.reason}`);
      return { kind: "not-needed", reason: d.reason };
    }
    reason = d.reason;
  } catch (e) {
    const msg = (e as Error).message;
    log.warn({ err: msg }, `${req.what}: could not check the disk (${msg}); going on without a gap prune`);
    return { kind: "failed", reason: msg };
  }

  const wait = formatDuration(cfg.gapWait);
  let announced = false;
  const drained = await drainAndLock(config.runDir, {
    waitMs: cfg.gapWait,
    what: `${req.what}, pid ${process.pid}`,
    ...(req.signal ? { signal: req.signal } : {}),
    onWait: (w) => {
      announced = true;
      if (w.for === "leases")
        log.info(
          { leases: w.leases.map((l) => l.id), gapWaitMs: cfg.gapWait, incomingBytes: req.incomingBytes },
          `${req.what}: ${reason}: pruning before ${req.before}; waiting up to ${wait} (prune.gapWait) for ${w.leases.length} live run(s) to end (${w.leases.map((l) => l.id).join(", ")}); new runs wait behind this prune`,
        );
      else
        log.info(
          { drainPid: w.drain?.pid },
          `${req.what}: ${reason}: another gap prune${w.drain ? ` (pid ${w.drain.pid})` : ""} is draining the host; waiting behind it, up to ${wait} (prune.gapWait)`,
        );
    },
  });
  if (!drained.ok) {
    if (drained.why === "aborted") return { kind: "aborted" };
    const why = `${drained.leases.length ? `${drained.leases.length} run(s) still live (${drained.leases.map((l) => l.id).join(", ")})` : "the host did not drain"} after prune.gapWait ${wait}`;
    log.warn(
      { waitedMs: drained.waitedMs, leases: drained.leases.map((l) => l.id) },
      `${req.what}: ${why}: no prune; ${req.before} anyway (${reason})`,
    );
    return { kind: "gave-up", reason: why, waitedMs: drained.waitedMs };
  }
  if (!announced)
    log.info({ incomingBytes: req.incomingBytes }, `${req.what}: ${reason}: pruning before ${req.before}`);
  try {
    const run = await runPrune(
      { config, engine, docker: docker(config.docker), log, ...(req.signal ? { signal: req.signal } : {}) },
      {
        lock: drained.lock,
        incomingBytes: req.incomingBytes,
        reserved: req.reserved,
        ignoreWindow: true,
        trigger: `gap prune before ${req.what}`,
      },
    );
    const freed = run.after.freeBytes - run.before.freeBytes;
    // runPrune has logged the outcome and each step; this adds the totals and the wait.
    log.debug(
      {
        outcome: run.outcome,
        freedBytes: freed,
        removed: run.result.removed.length,
        waitedMs: drained.waitedMs,
      },
      `${req.what}: gap prune ${run.outcome}: ${run.reason}${run.exec ? `; freed ${formatBytes(freed)}, ${run.result.removed.length} image(s) removed` : ""}${drained.waitedMs >= 1000 ? `; waited ${formatDuration(drained.waitedMs)} for the host to drain` : ""}`,
    );
    return { kind: "pruned", run, waitedMs: drained.waitedMs };
  } catch (e) {
    if (req.signal?.aborted) return { kind: "aborted" };
    const msg = (e as Error).message;
    log.warn({ err: msg }, `${req.what}: the gap prune failed (${msg}); going on`);
    return { kind: "failed", reason: msg };
  } finally {
    await drained.lock.release();
  }
}

/** What a prepull's plan says, as the gap prune needs it (src/pull/plan.ts PlannedImage fits). */
export interface PlannedPull {
  ref: string;
  action: "skip" | "pull";
  presentId?: string | undefined;
  /** Bytes the pull will download (the registry manifest's compressed sizes), when known. */
  sizeBytes?: number | undefined;
}

/**
 * The gap prune before a prepull pulls: the incoming bytes are the sizes of the images to pull
 * (0 when unknown), and the prepull's own present images are reserved.
 */
export function gapPruneBeforePull(
  ctx: { config: Config; env: NodeJS.ProcessEnv; signal?: AbortSignal },
  plan: readonly PlannedPull[],
): Promise<GapPruneResult> {
  const pulls = plan.filter((p) => p.action === "pull");
  if (!pulls.length) return Promise.resolve({ kind: "not-needed", reason: "nothing to pull" });
  return gapPrune(ctx, {
    what: "imagekeeper prepull",
    before: "pulling",
    incomingBytes: pulls.reduce((n, p) => n + (p.sizeBytes ?? 0), 0),
    reserved: plan.flatMap((p) =>
      p.presentId
        ? [{ id: p.presentId, reason: `needed by the prepull that triggered this prune (${p.ref})` }]
        : [],
    ),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}
