// What `imagekeeper watch` leaves in the state dir for itself and for `imagekeeper status`:
//   watch.json  its position in the event stream (position.ts), the last event's time, when it
//               last reconciled, whether it is connected; replaced atomically after every ledger
//               write, so a restart resumes where the ledger stands
//   watch.lock  flock(2)-held exclusively by the running watch for its whole life: the kernel's
//               word for "watch is running" (a pid in a file could be stale or reused), and what
//               keeps a second watch on the same state dir from starting
import { closeSync, constants, fchmodSync, openSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ToolError } from "../errors.js";
import { closeLockFile, lockFd } from "../lease/flock.js";
import { writeFileAtomic } from "../state/atomic.js";
import { ensureSharedDir } from "../state/dirs.js";
import { readStateFile } from "../state/stateFile.js";

export const watchStateSchema = z.object({
  version: z.literal(1),
  position: z.object({ timeNano: z.string().regex(/^\d+$/), seen: z.array(z.string()).max(1000) }).nullable(),
  /** ISO time of the last event applied (the daemon's clock). */
  lastEventAt: z.string().nullable(),
  /** ISO time of the last reconciliation (at start and after every reconnect). */
  reconciledAt: z.string().nullable(),
  /** Connected to the daemon's event stream when this was written. */
  connected: z.boolean(),
  pid: z.number().int().positive(),
  updatedAt: z.string(),
});
export type WatchState = z.output<typeof watchStateSchema>;

export const watchStatePath = (stateDir: string) => path.join(stateDir, "watch.json");
export const watchLockPath = (stateDir: string) => path.join(stateDir, "watch.lock");

export function readWatchState(stateDir: string): { state: WatchState | null; problem?: string } {
  const r = readStateFile(watchStatePath(stateDir), watchStateSchema.nullable(), () => null);
  return r.problem ? { state: null, problem: r.problem } : { state: r.value };
}

export function writeWatchState(stateDir: string, s: WatchState): void {
  writeFileAtomic(watchStatePath(stateDir), `${JSON.stringify(watchStateSchema.parse(s))}\n`, 0o664, {
    fsync: false,
  });
}

export interface WatchLock {
  release(): void;
}

/** Hold watch.lock for this process's life; "busy" when another watch holds it. */
export async function lockWatch(stateDir: string): Promise<WatchLock | "busy"> {
  let fd: number;
  try {
    ensureSharedDir(stateDir);
    fd = openSync(watchLockPath(stateDir), constants.O_RDONLY | constants.O_CREAT, 0o664);
  } catch (e) {
    throw new ToolError(`cannot open ${watchLockPath(stateDir)}: ${(e as Error).message}`, {
      hint: "imagekeeper watch keeps its position and the ledger in stateDir (IMAGEKEEPER_STATE_DIR): make it writable for this user.",
      cause: e,
    });
  }
  try {
    fchmodSync(fd, 0o664);
  } catch {
    // another user's file: its mode is theirs
  }
  let r: Awaited<ReturnType<typeof lockFd>>;
  try {
    r = await lockFd(fd, "exclusive");
  } catch (e) {
    closeLockFile(fd);
    throw e;
  }
  if (r !== "locked") {
    closeLockFile(fd);
    return "busy";
  }
  return { release: () => closeLockFile(fd) };
}

/** Is a watch holding watch.lock now? (false when the file does not exist or cannot be opened) */
export async function watchRunning(stateDir: string): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(watchLockPath(stateDir), constants.O_RDONLY);
  } catch {
    return false;
  }
  try {
    return (await lockFd(fd, "shared")) === "busy";
  } finally {
    closeSync(fd);
  }
}
