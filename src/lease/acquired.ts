// `lease acquire` / `lease release`: a run lease for runners that cannot wrap a process (a job
// made of separate steps). The shared lock and the lease's record are taken here, then handed to
// a detached holder (holder.ts) that keeps both until release or until the TTL ends; the CLI
// exits at once.
import { fstatSync } from "node:fs";
import { InputError, ToolError } from "../errors.js";
import { logger } from "../log.js";
import { closeLockFile, lockFileId } from "./flock.js";
import { type HolderFiles, startHolder, stopHolder } from "./holder.js";
import { identityOf, type LeaseFile, readLeaseFile } from "./metadata.js";
import { discardPrepared, prepareRecord, publishRecord, unlinkIfSame } from "./records.js";
import { leaseFile } from "./rundir.js";
import { takeSharedLock } from "./shared.js";

export interface Acquired {
  id: string;
  expiresAt: string;
  /** The id was already live: it now has a new holder and a new TTL (never unheld in between). */
  renewed: boolean;
  pid: number;
}

export async function acquireLease(
  runDir: string,
  opts: { id: string; ttlMs: number; waitMs: number; command: string; signal?: AbortSignal },
): Promise<Acquired | undefined> {
  const before = await readLeaseFile(runDir, opts.id);
  const previous = before?.held && before.rec !== "invalid" ? before.rec : undefined;
  if (before?.held && previous?.kind !== "acquired") {
    throw new InputError(
      "usage",
      previous
        ? `lease ${opts.id} belongs to \`imagekeeper run\` (pid ${previous.pid})`
        : `lease ${opts.id} is held by a record imagekeeper cannot read`,
      { hint: "Choose another --id, or omit it for a generated one." },
    );
  }
  const lock = await takeSharedLock(runDir, {
    waitMs: opts.waitMs,
    what: "imagekeeper lease acquire",
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!lock) return undefined;
  const file = leaseFile(runDir, opts.id);
  let prepared: Awaited<ReturnType<typeof prepareRecord>> | undefined;
  try {
    prepared = await prepareRecord(file);
    // The holder gets both descriptors: the lease lock (fd 3) and its record's lock (fd 4).
    const holder = await startHolder([lock.fd, prepared.fd], opts.ttlMs);
    const since = new Date();
    const expiresAt = new Date(since.getTime() + opts.ttlMs).toISOString();
    try {
      publishRecord(prepared, file, {
        v: 1,
        id: opts.id,
        kind: "acquired",
        ...holder,
        command: opts.command,
        since: since.toISOString(),
        expiresAt,
      });
    } catch (e) {
      // Our own holder, proven the same way as any other: it holds our record and our lock.
      const own = fstatSync(prepared.fd);
      const lockId = fstatSync(lock.fd);
      await stopHolder(holder, {
        record: { dev: own.dev, ino: own.ino, uid: own.uid },
        lock: { dev: lockId.dev, ino: lockId.ino },
      }).catch((stopErr: unknown) =>
        logger().warn(
          { pid: holder.pid, err: (stopErr as Error).message },
          "could not stop the new holder; it ends at its TTL",
        ),
      );
      throw e;
    }
    // Renewal: the new holder already holds the lock, so stopping the old one leaves no gap. The
    // old holder must prove itself against the record as it was before we replaced it.
    if (previous && before) {
      await stopHolder(identityOf(previous), holderFiles(runDir, before)).catch((e: unknown) =>
        logger().warn(
          { id: opts.id, pid: previous.pid, err: (e as Error).message },
          "renewed, but the previous holder could not be stopped; it ends at its own TTL",
        ),
      );
    }
    return { id: opts.id, expiresAt, renewed: previous !== undefined, pid: holder.pid };
  } finally {
    // The holder has its own descriptors of the same open file descriptions; ours can go.
    if (prepared) discardPrepared(prepared); // the temp name is gone once published: a no-op unlink
    closeLockFile(lock.fd);
  }
}

export type Released = "released" | "not-found" | "expired";

/** The files a lease's holder must hold open to be signalled (holder.ts, proof.ts). */
function holderFiles(runDir: string, f: LeaseFile): HolderFiles {
  const lock = lockFileId(runDir);
  // No lock file: nothing can prove to hold it, and nothing is signalled.
  return {
    record: { dev: f.dev, ino: f.ino, uid: f.uid },
    // Stryker disable next-line UnaryOperator: no file has dev -1 or ino -1; flipping one sign leaves the other, matching nothing
    lock: lock ?? { dev: -1, ino: -1 },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stillHeld(runDir: string, id: string, ino: number): Promise<LeaseFile | undefined> {
  const f = await readLeaseFile(runDir, id);
  return f?.held && f.ino === ino ? f : undefined;
}

/**
 * Release an acquired lease. Idempotent: an id that is unknown, already released or expired is
 * reported, not an error (the caller's goal, no lease held, is already met).
 */
export async function releaseLease(runDir: string, id: string): Promise<Released> {
  const f = await readLeaseFile(runDir, id);
  if (!f) return "not-found";
  if (!f.held) {
    unlinkIfSame(leaseFile(runDir, id), f.ino);
    return "expired";
  }
  if (f.rec === "invalid") {
    throw new InputError(
      "usage",
      `lease ${id} in ${runDir} is held, but its record is not one imagekeeper reads`,
      {
        hint: "Was it taken by another imagekeeper version? Release it with that version.",
      },
    );
  }
  const rec = f.rec;
  if (rec.kind === "run") {
    throw new InputError(
      "usage",
      `lease ${id} belongs to \`imagekeeper run\` (pid ${rec.pid}) and ends with its command`,
      {
        hint: `Stop that command instead (kill -TERM ${rec.pid} forwards the signal to it).`,
      },
    );
  }
  let outcome: "stopped" | "gone";
  try {
    outcome = await stopHolder(identityOf(rec), holderFiles(runDir, f));
  } catch (e) {
    // Nothing was signalled. A holder hidden from us (ProtectProc=invisible) that has just ended
    // is no error: the kernel says whether the record is still held.
    if (await stillHeld(runDir, id, f.ino)) throw e;
    outcome = "gone";
  }
  // Confirm with the kernel: the record's lock goes when the holder's last descriptor closes.
  if (outcome === "stopped")
    for (let i = 0; i < 100 && (await stillHeld(runDir, id, f.ino)); i++) await sleep(20);
  if (await stillHeld(runDir, id, f.ino)) {
    throw new ToolError(
      outcome === "gone"
        ? `lease ${id} is held, but not by the process its record names (pid ${rec.pid} is gone); nothing was signalled`
        : `lease ${id} is still held after stopping its holder pid ${rec.pid}`,
      {
        hint: "Release a lease as the user that acquired it (or as root); a lease that cannot be released ends at its TTL. See who holds the record with fuser or lsof.",
      },
    );
  }
  unlinkIfSame(leaseFile(runDir, id), f.ino);
  return "released";
}
