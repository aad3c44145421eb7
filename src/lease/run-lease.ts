// The lease of `imagekeeper run`: the shared lock is held by imagekeeper's own descriptor for the
// command's lifetime, so it ends exactly when imagekeeper ends, however it ends. So does its
// record, locked through another descriptor of imagekeeper's.
import { ToolError } from "../errors.js";
import { closeLockFile } from "./flock.js";
import { describeCommand, newLeaseId } from "./ids.js";
import { identify } from "./proc.js";
import { discardPrepared, prepareRecord, publishRecord, releaseHeld } from "./records.js";
import { leaseFile } from "./rundir.js";
import { takeSharedLock } from "./shared.js";

export interface RunLease {
  id: string;
  waitedMs: number;
  /** Remove the record and close the descriptors (dropping the lock). Idempotent. */
  release(): void;
}

export async function startRunLease(
  runDir: string,
  opts: { command: readonly string[]; waitMs: number; signal?: AbortSignal },
): Promise<RunLease | undefined> {
  const lock = await takeSharedLock(runDir, {
    waitMs: opts.waitMs,
    what: "imagekeeper run",
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!lock) return undefined;
  const id = newLeaseId("run");
  let held: ReturnType<typeof publishRecord>;
  try {
    const me = identify(process.pid);
    if (!me) throw new ToolError("cannot read /proc/self/stat");
    // Published after the lock is taken: a listed run lease is always a held one.
    const file = leaseFile(runDir, id);
    const p = await prepareRecord(file);
    try {
      held = publishRecord(p, file, {
        v: 1,
        id,
        kind: "run",
        ...me,
        command: describeCommand(opts.command),
        since: new Date().toISOString(),
      });
    } catch (e) {
      discardPrepared(p);
      throw e;
    }
  } catch (e) {
    closeLockFile(lock.fd);
    throw e;
  }
  let released = false;
  return {
    id,
    waitedMs: lock.waitedMs,
    release() {
      if (released) return;
      released = true;
      releaseHeld(held);
      closeLockFile(lock.fd);
    },
  };
}
