// Run leases vs prune: runs share, a prune is exclusive. This is the API the prune and status
// commands code against; docs/leases.md explains the mechanism. In short: one flock(2) lock file
// in the run dir decides everything (runs hold it shared, a prune exclusive); the JSON records
// beside it only say who holds it.
import { logger } from "../log.js";
import { closeLockFile, lockFd, openLockFile } from "./flock.js";
import { stopHolder } from "./holder.js";
import { identityOf, type LeaseRecord, liveLeaseRecords, readLeaseFile } from "./metadata.js";
import { identify } from "./proc.js";
import {
  discardPrepared,
  type Held,
  prepareRecord,
  publishRecord,
  releaseHeld,
  unlinkIfSame,
} from "./records.js";
import { exclusiveFile, leaseFile } from "./rundir.js";

export interface LeaseInfo {
  id: string;
  pid: number;
  /** The command the lease covers (argv joined), or the runner's description. */
  command: string;
  /** ISO time the lease was taken. */
  since: string;
  kind: "run" | "acquired";
  /** For `lease acquire` leases: when the TTL ends. */
  expiresAt?: string;
}

export interface ExclusiveLock {
  release(): Promise<void>;
}

/**
 * Slack past expiresAt before listing reaps a holder that is still alive. Normally `sleep TTL`
 * exits on time by itself; this catches only a clock step or a host suspended mid-TTL (sleep
 * counts monotonic time, which stops during suspend).
 */
const EXPIRY_SLACK_MS = 60_000;

function toInfo(r: LeaseRecord): LeaseInfo {
  return {
    id: r.id,
    pid: r.pid,
    command: r.command,
    since: r.since,
    kind: r.kind,
    ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
  };
}

/**
 * Take the prune lock without waiting; when any run lease is live, return those leases instead.
 *
 * `ok: false` is authoritative (the kernel refused the lock). Its `leases` are what the records
 * say and may be empty: when another prune holds the lock, or in the moment between a run taking
 * the lock and writing its record. The lock is also released, by the kernel, if this process dies.
 */
export async function tryExclusive(
  runDir: string,
  /** Wait up to `waitMs` for live leases to end (a gap prune, behind its drain: drain.ts). */
  opts: { waitMs?: number; signal?: AbortSignal } = {},
): Promise<{ ok: true; lock: ExclusiveLock } | { ok: false; leases: LeaseInfo[] }> {
  const fd = openLockFile(runDir);
  let r: Awaited<ReturnType<typeof lockFd>>;
  try {
    r = await lockFd(fd, "exclusive", opts);
  } catch (e) {
    closeLockFile(fd);
    throw e;
  }
  if (r !== "locked") {
    closeLockFile(fd);
    return { ok: false, leases: await listLeases(runDir) };
  }
  // Who holds it, for the message of a run that has to wait; best effort, it decides nothing.
  let record: Held | undefined;
  try {
    const me = identify(process.pid);
    if (me) {
      const p = await prepareRecord(exclusiveFile(runDir));
      try {
        record = publishRecord(p, exclusiveFile(runDir), { v: 1, ...me, since: new Date().toISOString() });
      } catch (e) {
        discardPrepared(p);
        throw e;
      }
    }
  } catch (e) {
    logger().warn({ err: (e as Error).message }, "could not write the prune's lock record");
  }
  let released = false;
  return {
    ok: true,
    lock: {
      async release() {
        if (released) return;
        released = true;
        if (record) releaseHeld(record);
        closeLockFile(fd);
      },
    },
  };
}

/**
 * Live leases (for status and for the prune's deferral report), oldest first. A lease counts while
 * its holder is the same live process that took it: records of SIGKILLed runs, of expired
 * `lease acquire` holders, or naming a pid since reused by another process are dropped (and
 * removed). An acquired lease whose holder outlived its TTL is ended here.
 */
export async function listLeases(runDir: string): Promise<LeaseInfo[]> {
  const out: LeaseInfo[] = [];
  for (const rec of await liveLeaseRecords(runDir)) {
    if (rec.expiresAt !== undefined && Date.parse(rec.expiresAt) + EXPIRY_SLACK_MS < Date.now()) {
      if (await reapExpired(runDir, rec)) continue;
    }
    out.push(toInfo(rec));
  }
  return out.sort((a, b) => a.since.localeCompare(b.since));
}

/** End an acquired lease whose holder outlived its TTL; true when it is gone. */
async function reapExpired(runDir: string, rec: LeaseRecord): Promise<boolean> {
  try {
    await stopHolder(identityOf(rec));
  } catch (e) {
    logger().warn({ id: rec.id, pid: rec.pid, err: (e as Error).message }, "could not end an expired lease");
    return false;
  }
  // The kernel has the last word (the holder may be invisible to us, e.g. under hidepid).
  const f = await readLeaseFile(runDir, rec.id);
  if (f?.held) return false;
  if (f) unlinkIfSame(leaseFile(runDir, rec.id), f.ino);
  logger().warn({ id: rec.id, pid: rec.pid, expiresAt: rec.expiresAt }, "ended an expired lease");
  return true;
}
