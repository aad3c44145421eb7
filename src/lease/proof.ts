// When may imagekeeper signal a process named by a lease record? Only when the process proves, by
// facts a forger cannot arrange, that it is the holder that record belongs to. The one legitimate
// kill path is ending an acquired lease early (`lease release`, and a renewal retiring the old
// holder); nothing ever signals on a record's word alone (listing, status and prune never signal
// at all). docs/leases.md has the threat model.
//
// A record is a file in the run dir: any group member can write one naming any pid, with the
// right start time and boot id (world-readable in /proc), and hold a flock on it. What a member
// cannot arrange:
//   - another user's process holding an open descriptor on the member's record file and on the
//     run dir's lease.lock (a holder gets both at spawn, as its fds 3 and 4; descriptors are never
//     handed to unrelated processes);
//   - a record file owned by another user (the run dir is sticky: a member can neither replace
//     nor delete another user's file, and records are not group-writable).
// So the process must run as the record file's owner (a signal then grants nothing its author
// could not do alone) AND hold both files open. Start time and boot id guard against pid reuse.
import { type FileId, isSameLiveProcess, type ProcessIdentity, type ProcView } from "./proc.js";

export interface HolderFacts {
  /** Who the record says holds it. */
  recorded: ProcessIdentity;
  /** The record file as opened: owner and inode (fstat of our descriptor). */
  record: FileId & { uid: number };
  /** The run dir's lease.lock. */
  lock: FileId;
  /** The recorded pid as /proc shows it now; undefined when gone or hidden from us. */
  proc: ProcView | undefined;
  bootId: string;
}

export type Verdict =
  /** It is the holder: signal it. */
  | { kind: "holder" }
  /** The recorded process no longer exists (pid gone, reused, zombie, other boot). */
  | { kind: "gone" }
  /** Something lives under that pid, but it is not proven to be the holder: never signal it. */
  | { kind: "unproven"; why: string };

const holds = (open: readonly FileId[], f: FileId) => open.some((o) => o.dev === f.dev && o.ino === f.ino);

/** Pure: the rule above, applied to facts gathered just before a signal. */
export function judgeHolder(f: HolderFacts): Verdict {
  const pid = f.recorded.pid;
  if (f.proc === undefined) {
    // Gone, or another user's process hidden from us (ProtectProc=invisible, hidepid=): the
    // caller confirms with the record's lock which of the two it is.
    return { kind: "unproven", why: `pid ${pid} is not visible in /proc to this user` };
  }
  if (!isSameLiveProcess(f.recorded, f.proc.stat, f.bootId)) return { kind: "gone" };
  const foreign = f.proc.uids.find((u) => u !== f.record.uid);
  if (foreign !== undefined) {
    return {
      kind: "unproven",
      why: `pid ${pid} runs as uid ${foreign}, but the record belongs to uid ${f.record.uid}`,
    };
  }
  if (f.proc.open === undefined) {
    return { kind: "unproven", why: `the open files of pid ${pid} are not readable to this user` };
  }
  if (!holds(f.proc.open, f.record)) {
    return { kind: "unproven", why: `pid ${pid} does not hold the lease record open` };
  }
  if (!holds(f.proc.open, f.lock)) {
    return { kind: "unproven", why: `pid ${pid} does not hold the lease lock open` };
  }
  return { kind: "holder" };
}
