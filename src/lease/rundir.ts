// The run dir and the files in it. Everything lives in one directory (config `runDir`,
// $IMAGEKEEPER_RUN_DIR, default /run/imagekeeper) shared by the CI runner's user and the prune
// service's user through a common group:
//   runDir            03770  setgid: files created inside belong to the directory's group, not to
//                            the creator's primary group, so both users can open them; sticky:
//                            a group member can neither delete nor replace another user's files
//                            (lease.lock, records), only its own
//   lease.lock        0440   the kernel lock (flock(2)), opened read-only; never deleted or
//                            replaced while in use (best created by the run dir's owner, see
//                            docs/leases.md: its creator is the one member who could delete it)
//   lease.<id>.json   0640   metadata of one run lease, for listing (and the holder proof)
//   exclusive.json    0640   metadata of the prune holding the exclusive lock, for messages only
// The lock file is the only thing that decides; metadata never grants or blocks anything.
import { statSync } from "node:fs";
import path from "node:path";
import { ToolError } from "../errors.js";
import { logger } from "../log.js";
import { ensureSharedDir } from "../state/dirs.js";

export const RUN_DIR_MODE = 0o3770;
export const LOCK_FILE_MODE = 0o440;
export const META_FILE_MODE = 0o640;

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
 * Create the run dir (and any missing parent) when missing, with RUN_DIR_MODE. Only directories we
 * create are chmod'ed: an existing one is the administrator's (systemd-tmpfiles or the NixOS
 * module set its owner, group and mode); one that is group-writable without the sticky bit is
 * reported, since any group member could then delete lease.lock and split the exclusion.
 */
export function ensureRunDir(runDir: string): void {
  let created: boolean;
  try {
    created = ensureSharedDir(runDir, RUN_DIR_MODE);
  } catch (e) {
    throw new ToolError(`cannot create the run dir ${runDir}: ${(e as Error).message}`, {
      hint: "Create it for both the runner and the prune service (e.g. systemd-tmpfiles: d /run/imagekeeper 3770 root imagekeeper), or set runDir / IMAGEKEEPER_RUN_DIR; see docs/leases.md.",
      cause: e,
    });
  }
  if (!created) warnIfNotSticky(runDir);
}

const warned = new Set<string>();

function warnIfNotSticky(runDir: string): void {
  if (warned.has(runDir)) return;
  warned.add(runDir);
  const mode = statSync(runDir).mode;
  if (mode & 0o020 && !(mode & 0o1000)) {
    logger().warn(
      { runDir, mode: `0${(mode & 0o7777).toString(8)}` },
      `the run dir ${runDir} is group-writable but not sticky: any member of its group can delete lease.lock and so disable the exclusion between runs and prunes; make it mode 3770 (docs/leases.md)`,
    );
  }
}

export function accessHint(runDir: string): string {
  return `The runner and the prune service must both be in the group that owns ${runDir} (mode 3770); see docs/leases.md.`;
}
