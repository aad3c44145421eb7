// Taking the SHARED lock for a run lease (`imagekeeper run`, `lease acquire`). Runs never block
// each other; a prune holds the lock exclusively and never waits, so the only thing a run can wait
// for is a prune in progress, bounded by --wait (config lease.wait).
import { LeaseTimeoutError } from "../errors.js";
import { logger } from "../log.js";
import { formatDuration } from "../util/duration.js";
import { closeLockFile, lockFd, openLockFile } from "./flock.js";
import { type ExclusiveRecord, liveExclusiveRecord } from "./metadata.js";

export interface SharedLock {
  /** The descriptor whose open file description holds the lock. */
  fd: number;
  /** How long we waited for a prune, in ms (0 when the lock was free). */
  waitedMs: number;
}

function describePrune(p: ExclusiveRecord | undefined): string {
  return p ? `a prune (pid ${p.pid}, since ${p.since})` : "a prune";
}

/**
 * Take the shared lock, waiting up to `waitMs` while a prune holds it. Returns undefined when
 * `signal` aborted the wait; throws LeaseTimeoutError when the prune outlasted `waitMs`.
 */
export async function takeSharedLock(
  runDir: string,
  opts: { waitMs: number; signal?: AbortSignal; what: string },
): Promise<SharedLock | undefined> {
  const fd = openLockFile(runDir);
  let ok = false;
  try {
    const first = await lockFd(fd, "shared", opts.signal ? { signal: opts.signal } : {});
    if (first === "aborted") return undefined;
    if (first === "locked") {
      ok = true;
      return { fd, waitedMs: 0 };
    }
    const prune = await liveExclusiveRecord(runDir);
    const started = performance.now();
    logger().info(
      { runDir, prunePid: prune?.pid, pruneSince: prune?.since, waitMs: opts.waitMs },
      `${opts.what}: ${describePrune(prune)} is in progress; waiting up to ${formatDuration(opts.waitMs)}`,
    );
    const second =
      opts.waitMs > 0
        ? await lockFd(fd, "shared", { waitMs: opts.waitMs, ...(opts.signal ? { signal: opts.signal } : {}) })
        : "busy";
    if (second === "aborted") return undefined;
    if (second === "busy") {
      throw new LeaseTimeoutError(
        `${opts.what}: ${describePrune((await liveExclusiveRecord(runDir)) ?? prune)} still held the lease lock in ${runDir} after ${formatDuration(opts.waitMs)}`,
        "A prune removes images one at a time and never waits for runs, so a long hold means a slow `docker image rm` or a stuck prune: check the prune service's log and `imagekeeper status`. Raise --wait (config lease.wait) to wait longer.",
      );
    }
    ok = true;
    const waitedMs = Math.round(performance.now() - started);
    logger().info({ waitedMs }, `${opts.what}: the prune finished; proceeding`);
    return { fd, waitedMs };
  } finally {
    if (!ok) closeLockFile(fd);
  }
}
