// Process identity from /proc, so that a recorded pid is only believed while it is still the same
// process. A pid alone is not an identity: after a crash the kernel hands the number to the next
// process. (pid, start time in clock ticks since boot, boot id) is: start time cannot repeat for a
// reused pid within a boot, and the boot id changes on reboot (a run dir outside /run survives
// one). See proc(5), /proc/[pid]/stat field 22.
import { readdirSync, readFileSync, statSync } from "node:fs";

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z (zombie), X (dead), T, t, I, … */
  state: string;
  ppid: number;
  /** Field 22: when the process started, in clock ticks after boot. */
  startTime: number;
}

export interface ProcessIdentity {
  pid: number;
  startTime: number;
  bootId: string;
}

/**
 * Parse one /proc/[pid]/stat line. comm (field 2) is in parentheses and may itself contain spaces
 * and parentheses, so the fields after it are found from the LAST ')'.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  // Stryker disable next-line ConditionalExpression,LogicalOperator: past these, a pid before "(" that holds ")" is NaN, and with no ")" rest[0] is the pid's token, never a state letter
  if (open < 1 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const state = rest[0];
  const ppid = Number(rest[1]);
  const startTime = Number(rest[19]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || state === undefined || !/^[A-Za-z]$/.test(state))
    return undefined;
  if (!Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTime) || startTime < 0) return undefined;
  return { pid, comm: text.slice(open + 1, close), state, ppid, startTime };
}

/**
 * Whether `recorded` still names a running process: same boot, the pid exists, it is not a zombie
 * (a dead holder awaiting its parent's wait() has already closed its files, so its locks are gone),
 * and it started at the recorded time (else the pid was reused).
 */
export function isSameLiveProcess(
  recorded: ProcessIdentity,
  current: ProcStat | undefined,
  currentBootId: string,
): boolean {
  if (recorded.bootId !== currentBootId) return false;
  if (current === undefined || current.pid !== recorded.pid) return false;
  if (current.state === "Z" || current.state === "X" || current.state === "x") return false;
  return current.startTime === recorded.startTime;
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    // Stryker disable next-line BlockStatement: an empty catch falls off the end, returning undefined too
  } catch {
    // ENOENT/ESRCH: no such process (any other error makes it unknowable, which we treat alike).
    return undefined;
  }
}

let cachedBootId: string | undefined;

export function bootId(): string {
  cachedBootId ??= readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  return cachedBootId;
}

/** The identity of a running process, or undefined when it is gone. */
export function identify(pid: number): ProcessIdentity | undefined {
  const st = readProcStat(pid);
  return st ? { pid, startTime: st.startTime, bootId: bootId() } : undefined;
}

export function isAlive(recorded: ProcessIdentity): boolean {
  return isSameLiveProcess(recorded, readProcStat(recorded.pid), bootId());
}

/** A file as the kernel names it: device and inode. */
export interface FileId {
  dev: number;
  ino: number;
}

/**
 * Parse the Uid: line of /proc/[pid]/status: real, effective, saved and filesystem uid.
 * Undefined when the line is missing or malformed.
 */
export function parseStatusUids(text: string): number[] | undefined {
  const m = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/m.exec(text);
  return m ? m.slice(1, 5).map(Number) : undefined;
}

/** What /proc shows of a process, for deciding whether it may be signalled (proof.ts). */
export interface ProcView {
  stat: ProcStat;
  /** Real, effective, saved and filesystem uid. */
  uids: number[];
  /** The files its descriptors refer to; undefined when /proc/[pid]/fd is not readable to us. */
  open: FileId[] | undefined;
}

/**
 * Read a process's stat, uids and open files. Undefined when it is gone or hidden from us
 * (another user's process under ProtectProc=invisible or hidepid=). Its descriptors are readable
 * only to its own user and to root (ptrace access mode, proc(5)): `open` is undefined otherwise.
 */
export function viewProcess(pid: number): ProcView | undefined {
  const stat = readProcStat(pid);
  if (!stat) return undefined;
  let uids: number[] | undefined;
  try {
    uids = parseStatusUids(readFileSync(`/proc/${pid}/status`, "utf8"));
    // Stryker disable next-line BlockStatement: an empty catch leaves uids undefined, returned as undefined just below
  } catch {
    return undefined;
  }
  if (!uids) return undefined;
  let open: FileId[] | undefined;
  try {
    open = [];
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        // stat(2) of the magic link is the open file itself, deleted or renamed since or not.
        const st = statSync(`/proc/${pid}/fd/${fd}`);
        open.push({ dev: st.dev, ino: st.ino });
      } catch {
        // closed in between: not one of the files we look for
      }
    }
  } catch {
    open = undefined;
  }
  return { stat, uids, open };
}
