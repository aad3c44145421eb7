// Record files that are alive exactly while their holder is: a record (lease.<id>.json,
// exclusive.json) is created as a temp file, flock(2)-locked exclusively through the holder's
// descriptor, and only then renamed into place; the holder keeps that descriptor for the lease's
// life. A reader decides liveness by trying a shared lock: refused means some holder still has
// it. So liveness is the kernel's word, like the lease lock itself: immune to PID reuse, to a
// SIGKILLed holder, and to /proc being hidden from other users (systemd ProtectProc=invisible,
// hidepid=), which would make a /proc check declare every other user's lease dead.

import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { ToolError } from "../errors.js";
import { closeLockFile, lockFd } from "./flock.js";
import { accessHint, META_FILE_MODE } from "./rundir.js";

/** A record file being written: locked through `fd` before anyone can see it. */
export interface Prepared {
  tmp: string;
  fd: number;
  ino: number;
}

/** A published record: it counts for as long as `fd` (or a holder's copy of it) stays open. */
export interface Held {
  file: string;
  fd: number;
  ino: number;
}

export async function prepareRecord(file: string): Promise<Prepared> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, META_FILE_MODE);
  } catch (e) {
    const dir = path.dirname(file);
    throw new ToolError(`cannot write a lease record in ${dir}: ${(e as Error).message}`, {
      hint: accessHint(dir),
      cause: e,
    });
  }
  try {
    fchmodSync(fd, META_FILE_MODE); // exactly, whatever the umask: group members read it
    const r = await lockFd(fd, "exclusive");
    if (r !== "locked") throw new ToolError(`could not lock the new record ${tmp}`);
    return { tmp, fd, ino: fstatSync(fd).ino };
  } catch (e) {
    closeLockFile(fd);
    unlinkQuietly(tmp);
    throw e;
  }
}

function ownerOf(file: string): number | undefined {
  return lstatSync(file, { throwIfNoEntry: false })?.uid;
}

/** Fill the prepared file and move it into place (atomically: readers see it whole or not at all). */
export function publishRecord(p: Prepared, file: string, data: unknown): Held {
  writeSync(p.fd, `${JSON.stringify(data)}\n`, 0);
  try {
    renameSync(p.tmp, file);
  } catch (e) {
    // The run dir is sticky: a file of another user's cannot be replaced (EPERM). An immutable
    // or append-only run dir gives EPERM too, so the owner is checked before saying so.
    const dir = path.dirname(file);
    const owner = (e as NodeJS.ErrnoException).code === "EPERM" ? ownerOf(file) : undefined;
    throw new ToolError(`cannot publish the lease record ${file}: ${(e as Error).message}`, {
      hint:
        owner !== undefined && owner !== process.getuid?.()
          ? `${file} belongs to another user (uid ${owner}): choose another lease id (ids are per user in a sticky run dir).`
          : accessHint(dir),
      cause: e,
    });
  }
  return { file, fd: p.fd, ino: p.ino };
}

export function discardPrepared(p: Prepared): void {
  unlinkQuietly(p.tmp);
  closeLockFile(p.fd);
}

/** End a held record: remove the file (unless it was since replaced) and drop the lock. */
export function releaseHeld(h: Held): void {
  unlinkIfSame(h.file, h.ino);
  closeLockFile(h.fd);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already removed by someone else: the same outcome.
  }
}

/**
 * Remove `file` only while it is still the inode `ino`: a renewal may have renamed a new, live
 * record over it since we looked.
 */
export function unlinkIfSame(file: string, ino: number): void {
  try {
    if (statSync(file).ino !== ino) return;
  } catch {
    return;
  }
  unlinkQuietly(file);
}

export interface ReadRecord {
  /** Parsed JSON, or null when the file is not JSON. */
  raw: unknown;
  /** Some live process holds the record's lock. */
  held: boolean;
  dev: number;
  ino: number;
  /** The file's owner: the only user whose processes it may name for a signal (proof.ts). */
  uid: number;
}

/**
 * Read a record and whether it is held; undefined when there is no such file, or when it is not a
 * plain file of its own (a symlink or a hard link planted in the run dir is no record).
 */
export async function readRecord(file: string): Promise<ReadRecord | undefined> {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ELOOP") return undefined;
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.nlink > 1) return undefined;
    const text = readFileSync(fd, "utf8");
    let raw: unknown = null;
    try {
      raw = JSON.parse(text);
    } catch {
      // Not JSON: reported as null; the lock still says whether anyone holds it.
    }
    const r = await lockFd(fd, "shared");
    return { raw, held: r === "busy", dev: st.dev, ino: st.ino, uid: st.uid };
  } finally {
    closeSync(fd);
  }
}
