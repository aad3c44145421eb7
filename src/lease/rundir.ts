// The run dir and the files in it. Everything lives in one directory (config `runDir`,
// $IMAGEKEEPER_RUN_DIR, default /run/imagekeeper) shared by the CI runner's user and the prune
// service's user through a common group:
//   runDir            02770  setgid: files created inside belong to the directory's group, not to
//                            the creator's primary group, so both users can open and remove them
//   lease.lock        0660   the kernel lock (flock(2)); never deleted or replaced while in use
//   lease.<id>.json   0664   metadata of one run lease, for listing only
//   exclusive.json    0664   metadata of the prune holding the exclusive lock, for messages only
// The lock file is the only thing that decides; metadata never grants or blocks anything.
import { chmodSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { ToolError } from "../errors.js";

export const RUN_DIR_MODE = 0o2770;
export const LOCK_FILE_MODE = 0o660;
export const META_FILE_MODE = 0o664;

/** Lease ids become file names: letters, digits, `.`, `_`, `-`; no leading dot; at most 64. */
export const LEASE_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export const lockFile = (runDir: string) => path.join(runDir, "lease.lock");
export const leaseFile = (runDir: string, id: string) => path.join(runDir, `lease.${id}.json`);
export const exclusiveFile = (runDir: string) => path.join(runDir, "exclusive.json");
const LEASE_FILE = /^lease\.([A-Za-z0-9_-][A-Za-z0-9._-]{0,63})\.json$/;

/** The lease id in a metadata file name, or undefined for any other file. */
export function leaseIdOfFile(name: string): string | undefined {
  return LEASE_FILE.exec(name)?.[1];
}

/**
 * Create the run dir when missing. Only a directory we create is chmod'ed: an existing one is the
 * administrator's (systemd-tmpfiles or the NixOS module set its owner, group and mode).
 */
export function ensureRunDir(runDir: string): void {
  let created: boolean;
  try {
    created = makeDir(path.resolve(runDir));
  } catch (e) {
    throw new ToolError(`cannot create the run dir ${runDir}: ${(e as Error).message}`, {
      hint: "Create it for both the runner and the prune service (e.g. systemd-tmpfiles: d /run/imagekeeper 2770 root imagekeeper), or set runDir / IMAGEKEEPER_RUN_DIR; see docs/leases.md.",
      cause: e,
    });
  }
  // mkdir(2) masks the mode with the umask and ignores the setgid bit: set it explicitly.
  if (created) chmodSync(runDir, RUN_DIR_MODE);
}

/**
 * mkdir -p that reports whether the last component was created. Not mkdirSync's `recursive`: on
 * a path under /proc it loops forever (Node 20), and a misconfigured runDir must fail, not hang.
 */
function makeDir(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if (statSync(dir).isDirectory()) return false;
      throw e;
    }
    const parent = path.dirname(dir);
    if (code !== "ENOENT" || parent === dir) throw e;
    makeDir(parent);
    mkdirSync(dir);
    return true;
  }
}

export function accessHint(runDir: string): string {
  return `The runner and the prune service must both be in the group that owns ${runDir} (mode 2770); see docs/leases.md.`;
}
