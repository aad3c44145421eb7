// Directories shared by the users of imagekeeper's group (the CI runner and the prune service).
// Every directory imagekeeper creates, intermediate ones included, gets exactly the mode asked for,
// whatever the creating process's umask: mkdir(2) masks the mode with the umask and ignores the
// setgid and sticky bits, so each one is made under a umask that lets the permission bits through
// and chmod'ed after when the special bits are still missing. A directory that already exists is
// left as its owner set it (on NixOS, systemd-tmpfiles creates the state and run dirs).
//
// Why the umask and not only chmod: under systemd's RestrictSUIDSGID= (implied by DynamicUser=, so
// every DynamicUser CI runner has it) a chmod(2) whose mode has the setgid bit fails with EPERM.
// A directory made inside a setgid directory inherits the bit and the group from the kernel, so
// with the right umask it needs no chmod at all; where a chmod is refused, the permission bits
// are set without the special ones (a warning says what is missing).
import { chmodSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { logger } from "../log.js";

/** The calls that make a directory, replaceable in tests (a chmod refused as under RestrictSUIDSGID). */
export interface DirOps {
  mkdir(dir: string, mode: number): void;
  chmod(dir: string, mode: number): void;
  /** Permission and special bits of an existing path (st_mode & 0o7777), or undefined when none. */
  modeOf(dir: string): number | undefined;
  isDirectory(dir: string): boolean;
}

const realOps: DirOps = {
  mkdir: (dir, mode) => {
    // Let the mode's permission bits through the umask for this one call (process-wide, but
    // Node runs this synchronously: nothing else creates files in between).
    const old = process.umask(0o777 & ~mode);
    try {
      mkdirSync(dir, mode & 0o777);
    } finally {
      process.umask(old);
    }
  },
  chmod: (dir, mode) => chmodSync(dir, mode),
  modeOf: (dir) => {
    try {
      return statSync(dir).mode & 0o7777;
      // Stryker disable next-line BlockStatement: an empty catch returns undefined all the same
    } catch {
      return undefined;
    }
  },
  isDirectory: (dir) => statSync(dir).isDirectory(),
};

/**
 * The state dir and its subdirectories (ledger, caches, metrics): setgid, so files made inside keep
 * the group; group-writable, so either user replaces the other's files (atomic rename); readable by
 * others, so status and node_exporter need no group. Not sticky: the ledger is replaced by whoever
 * writes it last, which a sticky directory would forbid across users.
 */
export const SHARED_DIR_MODE = 0o2775;

/**
 * Create `dir` and any missing parents, each with exactly `mode`. Returns whether `dir` itself was
 * created (by us: one created by another process in a race is left alone).
 */
export function ensureSharedDir(dir: string, mode: number = SHARED_DIR_MODE, ops: DirOps = realOps): boolean {
  return makeDir(path.resolve(dir), mode, ops);
}

/**
 * mkdir -p, by hand rather than mkdirSync's `recursive`: that one reports only the first directory
 * it made (so the rest could not be chmod'ed), and on a path under /proc it loops forever (Node
 * 20), where a misconfigured directory must fail, not hang.
 */
function makeDir(dir: string, mode: number, ops: DirOps): boolean {
  // Most calls find the directory there already (every command after the first): then the
  // process-wide umask is never touched. A directory made between this check and mkdir is still
  // handled by the EEXIST branch below.
  if (isExistingDir(dir, ops)) return false;
  try {
    ops.mkdir(dir, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if (ops.isDirectory(dir)) return false;
      throw e;
    }
    const parent = path.dirname(dir);
    if (code !== "ENOENT" || parent === dir) throw e;
    makeDir(parent, mode, ops);
    try {
      ops.mkdir(dir, mode);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === "EEXIST" && ops.isDirectory(dir)) return false;
      throw e2;
    }
  }
  settle(dir, mode, ops);
  return true;
}

function isExistingDir(dir: string, ops: DirOps): boolean {
  try {
    return ops.isDirectory(dir);
  } catch {
    return false; // missing (or unreadable): mkdir decides
  }
}

/** Give a directory we made exactly `mode`, or as close as a refused chmod allows. */
function settle(dir: string, mode: number, ops: DirOps): void {
  if (ops.modeOf(dir) === mode) return;
  try {
    ops.chmod(dir, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM" || (mode & 0o7000) === 0) throw e;
    // RestrictSUIDSGID=: no special bits by chmod. Keep what the kernel gave (an inherited setgid
    // bit) only if a chmod without it is not needed; otherwise the permission bits matter more.
    const now = ops.modeOf(dir) ?? 0;
    if ((now & 0o777) !== (mode & 0o777)) ops.chmod(dir, mode & 0o777);
    const got = ops.modeOf(dir) ?? 0;
    if ((got & 0o7000) !== (mode & 0o7000))
      logger().warn(
        { path: dir, wantedMode: mode.toString(8), mode: got.toString(8) },
        `created ${dir} without its setgid/sticky bit: chmod was refused (systemd RestrictSUIDSGID=?); make the parent directory setgid so new directories inherit the group`,
      );
  }
}
