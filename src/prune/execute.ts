// Carries a prune plan out, and only it: the dangling step first (`docker image prune` without
// --all, or one by one when that command would take a protected image), build cache when
// configured, a re-measure, then removable images in plan order, one (or `prune.chunkSize`) at a
// time, measuring the filesystem after each and stopping as soon as the target is reached (usage
// below the low watermark and `prune.maxFree` free, with room for the caller's incoming bytes).
// Never --force, never --all, never containers or volumes. Just before each removal the daemon is
// asked again what containers and services use: an image that became used since the plan is
// skipped, and a removal the daemon refuses (a container appeared in between) is logged and
// skipped, never retried with force.
import type { Logger } from "pino";
import { CONFIRM, type Docker, dockerArgs } from "../docker/cli.js";
import type { RunOptions } from "../exec.js";
import { formatBytes } from "../util/duration.js";
import { type DiskUsage, reachedTarget, roundPercent } from "./measure.js";
import { type PlannedImage, type PruneConfig, type PrunePlan, reasonText } from "./plan.js";

export interface ExecuteDeps {
  docker: Docker;
  measure(): Promise<DiskUsage>;
  /** Is an image with this ID still present? */
  exists(id: string): Promise<boolean>;
  /**
   * Read containers and services again; the returned function says why an image is protected
   * now (null when it is not).
   */
  protectionNow(): Promise<(img: PlannedImage) => string | null>;
  log: Logger;
  /** Stops the prune between removals; a removal already started always runs to its end. */
  signal?: AbortSignal;
  /**
   * The prune lock's descriptor (ExclusiveLock.fd). Every removal child (`docker image prune`,
   * `image rm`, `builder prune`) inherits it and is never killed (exec.ts `runToCompletion`): the
   * daemon carries a removal out even when its client dies, so the lock must last until the
   * daemon has answered, even if imagekeeper is SIGKILLed.
   */
  lockFd?: number;
  /** Told of each removal as it is confirmed (a terminal shows a line per removal). */
  onRemoved?: (r: Removed) => void;
}

export interface Removed {
  image: PlannedImage;
  /** Free bytes gained over the removal command that removed it (shared by a chunk). */
  measuredFreedBytes: number;
  /** The disk as measured right after the removal (not for what `docker image prune` removed). */
  after?: DiskUsage;
}

export interface Skipped {
  image: PlannedImage;
  why: string;
}

export interface ExecutionResult {
  outcome: "pruned" | "insufficient";
  after: DiskUsage;
  /** after.freeBytes − before.freeBytes, as measured. */
  freedBytes: number;
  removed: Removed[];
  /** Removable in the plan, but used or refused by the time its turn came. */
  skipped: Skipped[];
  /** Removable, not removed: the target was reached before their turn. */
  notNeeded: PlannedImage[];
}

const RM_TIMEOUT_MS = 5 * 60_000;
const PRUNE_TIMEOUT_MS = 30 * 60_000;

function firstLine(s: string): string {
  return (
    s
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ""
  );
}

export async function executePlan(
  plan: PrunePlan,
  cfg: PruneConfig,
  deps: ExecuteDeps,
): Promise<ExecutionResult> {
  const { log } = deps;
  const removed: Removed[] = [];
  const skipped: Skipped[] = [];
  const notNeeded: PlannedImage[] = [];
  const checkAbort = () => {
    if (deps.signal?.aborted) throw deps.signal.reason;
  };
  /** How every removal runs: holding the prune lock, to its end (see ExecuteDeps.lockFd). */
  const removal = (timeoutMs: number, input?: string): RunOptions => ({
    timeoutMs,
    runToCompletion: true,
    ...(deps.lockFd !== undefined ? { fds: [deps.lockFd] } : {}),
    ...(input !== undefined ? { input } : {}),
  });

  /** Remove a group with one `docker image rm`, then see which of them are really gone. */
  const removeGroup = async (group: PlannedImage[]): Promise<void> => {
    const isProtected = await deps.protectionNow();
    const go: PlannedImage[] = [];
    for (const img of group) {
      const why = isProtected(img);
      if (why) {
        log.warn(
          { step: "skip", ref: img.ref, id: img.id, why },
          "not removing: used since the plan was made",
        );
        skipped.push({ image: img, why: `in use now: ${why}` });
      } else {
        go.push(img);
      }
    }
    if (!go.length) return;
    for (const img of go)
      log.info(
        { step: "remove", ref: img.ref, id: img.id, sizeBytes: img.sizeBytes, reason: reasonText(img) },
        `removing ${img.ref} (${formatBytes(img.sizeBytes)}): ${reasonText(img)}`,
      );
    const before = await deps.measure();
    checkAbort();
    const r = await deps.docker.run(dockerArgs.imageRm(go.flatMap((g) => g.rmArgs)), removal(RM_TIMEOUT_MS));
    checkAbort();
    const after = await deps.measure();
    const gone: PlannedImage[] = [];
    for (const img of go) {
      if (await deps.exists(img.id)) {
        // Docker refused (a container started using it, a child image, …): logged, skipped.
        const why = firstLine(r.stderr) || `docker image rm exited ${r.exitCode ?? r.signal}`;
        log.warn(
          { step: "refused", ref: img.ref, id: img.id, stderr: r.stderr.trim() },
          `docker kept ${img.ref}: ${why}`,
        );
        skipped.push({ image: img, why: `refused by docker: ${why}` });
      } else {
        gone.push(img);
      }
    }
    const freed = after.freeBytes - before.freeBytes;
    for (const img of gone) {
      const r = { image: img, measuredFreedBytes: Math.round(freed / gone.length), after };
      removed.push(r);
      deps.onRemoved?.(r);
    }
    // Stryker disable next-line ConditionalExpression: it guards only a log line
    if (gone.length)
      log.info(
        { step: "measure", usedPercent: roundPercent(after.usedPercent), freedBytes: freed },
        `usage now ${roundPercent(after.usedPercent)}% (${formatBytes(after.freeBytes)} free, ${formatBytes(freed)} freed)`,
      );
  };

  const start = plan.before;
  const danglingItems = plan.removable.filter((p) => p.phase === "dangling");
  const taggedItems = plan.removable.filter((p) => p.phase === "tagged");

  // 1. Dangling images (and build cache when configured).
  if (plan.dangling.method === "image-prune") {
    log.info(
      { step: "dangling", method: "image-prune", images: danglingItems.map((d) => d.ref) },
      `removing dangling images older than prune.minAge: ${plan.dangling.why}`,
    );
    const r = await deps.docker.run(dockerArgs.danglingPrune(cfg.minAge), removal(PRUNE_TIMEOUT_MS, CONFIRM));
    checkAbort();
    // Stryker disable next-line ConditionalExpression,EqualityOperator: it guards only a log line
    if (r.exitCode !== 0)
      log.warn(
        { step: "dangling", stderr: r.stderr.trim() },
        "docker image prune failed; continuing one by one",
      );
    // What docker's `until=` (build time) left, the plan still removes: one by one.
    for (const d of danglingItems) {
      if (await deps.exists(d.id)) await removeGroup([d]);
      else {
        log.info(
          { step: "remove", ref: d.ref, id: d.id, sizeBytes: d.sizeBytes, reason: reasonText(d) },
          `removed ${d.ref} by docker image prune: ${reasonText(d)}`,
        );
        removed.push({ image: d, measuredFreedBytes: 0 });
        deps.onRemoved?.({ image: d, measuredFreedBytes: 0 });
      }
    }
    // Stryker disable next-line ConditionalExpression: with "none" the plan has no untagged image to remove, so the loop is empty
  } else if (plan.dangling.method === "each") {
    log.info({ step: "dangling", method: "each" }, plan.dangling.why);
    for (const d of danglingItems) {
      checkAbort();
      await removeGroup([d]);
    }
  }
  if (cfg.buildCache) {
    log.info({ step: "build-cache" }, "removing build cache unused for longer than prune.minAge");
    const r = await deps.docker.run(dockerArgs.builderPrune(cfg.minAge), removal(PRUNE_TIMEOUT_MS, CONFIRM));
    checkAbort();
    // Stryker disable next-line ConditionalExpression,EqualityOperator: it guards only a log line
    if (r.exitCode !== 0)
      log.warn({ step: "build-cache", stderr: r.stderr.trim() }, "docker builder prune failed");
  }

  // 2. Re-measure: the dangling step may have been enough.
  let now = await deps.measure();
  log.info(
    { step: "measure", usedPercent: roundPercent(now.usedPercent) },
    `usage after the dangling step: ${roundPercent(now.usedPercent)}%`,
  );

  // 3. Tagged images in plan order until below the low watermark.
  for (let i = 0; i < taggedItems.length;) {
    checkAbort();
    if (reachedTarget(now, cfg, plan.incomingBytes)) {
      notNeeded.push(...taggedItems.slice(i));
      break;
    }
    const chunk = taggedItems.slice(i, i + cfg.chunkSize);
    await removeGroup(chunk);
    i += chunk.length;
    now = await deps.measure();
  }

  const outcome = reachedTarget(now, cfg, plan.incomingBytes) ? "pruned" : "insufficient";
  return { outcome, after: now, freedBytes: now.freeBytes - start.freeBytes, removed, skipped, notNeeded };
}
