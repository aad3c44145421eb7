// The kernel lock: flock(2) on the run dir's lease.lock, taken through util-linux `flock` because
// Node has no flock binding. A flock lock belongs to the open file description, not to a process:
// imagekeeper opens the file, hands its descriptor to `flock … 3` as fd 3, and when flock exits 0
// the lock stays held by imagekeeper's still-open descriptor. The kernel drops it when the last
// descriptor of that description closes: on close, on exit, on SIGKILL, on OOM kill. Nothing can
// outlive its holder, and nothing needs cleaning up after a crash. See flock(2), flock(1).
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync } from "node:fs";
import { ToolError } from "../errors.js";
import { run } from "../exec.js";
import type { FileId } from "./proc.js";
import { accessHint, ensureRunDir, LOCK_FILE_MODE, lockFile } from "./rundir.js";

/** flock(1) exits 1 on a conflict with --nonblock and when --wait runs out (its default -E). */
const CONFLICT_EXIT = 1;

/**
 * Open (creating if needed) the lock file. Read-only is enough for flock(2), and nobody ever writes
 * it. Never through a symlink: both sides must lock the run dir's own file (O_NOFOLLOW).
 */
export function openLockFile(runDir: string): number {
  return openRunDirLock(runDir, lockFile(runDir), "lease lock");
}

/**
 * Open (creating if needed) a lock file in the run dir, as `lease.lock` is opened: read-only, never
 * through a symlink, a regular file, mode LOCK_FILE_MODE exactly when created. `what` names it in
 * errors ("lease lock", "drain lock").
 */
export function openRunDirLock(runDir: string, file: string, what: string): number {
  ensureRunDir(runDir);
  const fail = (e: unknown) =>
    new ToolError(`cannot open the ${what} ${file}: ${(e as Error).message}`, {
      hint: accessHint(runDir),
      cause: e,
    });
  const ro = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  try {
    const fd = openSync(file, ro | constants.O_CREAT | constants.O_EXCL, LOCK_FILE_MODE);
    fchmodSync(fd, LOCK_FILE_MODE); // exactly, whatever the umask: the other side's group opens it too
    return fd;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fail(e);
  }
  let fd: number;
  try {
    fd = openSync(file, ro);
  } catch (e) {
    throw fail(e);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw fail(new Error("not a regular file"));
  }
  return fd;
}

/** The lock file's identity (device and inode), for the holder proof; undefined when missing. */
export function lockFileId(runDir: string): FileId | undefined {
  try {
    const st = lstatSync(lockFile(runDir));
    return st.isFile() ? { dev: st.dev, ino: st.ino } : undefined;
  } catch {
    return undefined;
  }
}

export function closeLockFile(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: the lock is released either way.
  }
}

export type LockMode = "shared" | "exclusive";
export type LockResult = "locked" | "busy" | "aborted";

/** flock(1)'s argv for a descriptor passed as fd 3: pure, so it is tested by table. */
export function flockArgs(mode: LockMode, waitMs: number | undefined): string[] {
  const how = waitMs === undefined ? ["--nonblock"] : ["--wait", (Math.max(0, waitMs) / 1000).toFixed(3)];
  return [mode === "shared" ? "--shared" : "--exclusive", ...how, "3"];
}

/**
 * Lock the open lock file `fd`: without waiting (`waitMs` undefined) or for up to `waitMs`.
 * "busy" means another holder kept the conflicting lock; "aborted" means `signal` fired (the
 * caller closes `fd`, so a lock flock got just before being killed goes away with it). `exec` is
 * the subprocess seam (src/exec.ts's run), replaced only by unit tests of the outcome mapping.
 */
export async function lockFd(
  fd: number,
  mode: LockMode,
  opts: { waitMs?: number; signal?: AbortSignal } = {},
  exec: typeof run = run,
): Promise<LockResult> {
  const r = await exec("flock", flockArgs(mode, opts.waitMs), {
    fds: [fd],
    // flock enforces --wait itself; this only guards against a hung flock.
    timeoutMs: (opts.waitMs ?? 0) + 30_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (r.aborted) return "aborted";
  if (r.exitCode === 0) return "locked";
  if (r.exitCode === CONFLICT_EXIT) return "busy";
  throw new ToolError(
    `flock ${flockArgs(mode, opts.waitMs).join(" ")} failed (${r.timedOut ? "timed out" : `exit ${r.exitCode ?? r.signal}`}): ${r.stderr.trim()}`,
    { hint: "flock comes from util-linux; check that it is installed and on PATH." },
  );
}
