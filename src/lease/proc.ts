// Process identity from /proc, so that a recorded pid is only believed while it is still the same
// process. A pid alone is not an identity: after a crash the kernel hands the number to the next
// process. (pid, start time in clock ticks since boot, boot id) is: start time cannot repeat for a
// reused pid within a boot, and the boot id changes on reboot (a run dir outside /run survives
// one). See proc(5), /proc/[pid]/stat field 22.
import { readFileSync } from "node:fs";

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
