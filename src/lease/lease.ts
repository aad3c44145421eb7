// Run leases vs prune: runs share, a prune is exclusive. This is the API the prune and status
// commands code against; docs/leases.md explains the mechanism. In short: one flock(2) lock file
// in the run dir decides everything (runs hold it shared, a prune exclusive); the JSON records
// beside it only say who holds it.
import { logger } from "../log.js";
import { closeLockFile, lockFd, openLockFile } from "./flock.js";
import { type LeaseRecord, liveLeaseRecords } from "./metadata.js";
import { identify } from "./proc.js";
import { discardPrepared, type Held, prepareRecord, publishRecord, releaseHeld } from "./records.js";
import { exclusiveFile } from "./rundir.js";

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
  /**
   * The descriptor that holds the lock. Every child that carries out a removal gets it (exec.ts
   * `fds`, with `runToCompletion`): flock(2) locks belong to the open file description, so the
   * exclusion lasts while any of them runs, even after this process is SIGKILLed.
   */
  fd: number;
  /** Close our descriptor (and the record): the lock ends once no removal child holds it either. */
  release(): Promise<void>;
}

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
      fd,
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
 * its record is locked by a live holder: records of SIGKILLed runs, of ended `lease acquire`
 * holders, or naming a pid since reused count for nothing (and are removed where the run dir's
 * sticky bit lets us). Reads only: nothing is ever signalled here, whatever a record says. An
 * acquired lease past its expiresAt whose holder still lives (the host was suspended: `sleep`
 * counts monotonic time) is still listed, because it still holds the lock; it ends by itself.
 */
export async function listLeases(runDir: string): Promise<LeaseInfo[]> {
  const out = (await liveLeaseRecords(runDir)).map(toInfo);
  return out.sort((a, b) => a.since.localeCompare(b.since));
}
