// Directories shared by the users of imagekeeper's group (the CI runner and the prune service).
// Every directory imagekeeper creates, intermediate ones included, gets exactly the mode asked for,
// whatever the creating process's umask: mkdir(2) masks the mode with the umask and ignores the
// setgid and sticky bits, so each one we create is chmod'ed after. A directory that already exists
// is left as its owner set it (on NixOS, systemd-tmpfiles creates the state and run dirs).
import { chmodSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";

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
export function ensureSharedDir(dir: string, mode: number = SHARED_DIR_MODE): boolean {
  return makeDir(path.resolve(dir), mode);
}

/**
 * mkdir -p, by hand rather than mkdirSync's `recursive`: that one reports only the first directory
 * it made (so the rest could not be chmod'ed), and on a path under /proc it loops forever (Node
 * 20), where a misconfigured directory must fail, not hang.
 */
function makeDir(dir: string, mode: number): boolean {
  try {
    mkdirSync(dir, mode & 0o777);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if (statSync(dir).isDirectory()) return false;
      throw e;
    }
    const parent = path.dirname(dir);
    if (code !== "ENOENT" || parent === dir) throw e;
    makeDir(parent, mode);
    try {
      mkdirSync(dir, mode & 0o777);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === "EEXIST" && statSync(dir).isDirectory()) return false;
      throw e2;
    }
  }
  chmodSync(dir, mode);
  return true;
}
