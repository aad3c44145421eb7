// Scratch run dirs and lock holders for the lease unit tests (test/unit/lease/*): real kernel locks
// (flock(2) through util-linux flock, as the product takes them) on files in a tmpdir. The run dir
// is made here with its final mode, as systemd-tmpfiles makes it on a host, so the code under test
// finds it and never sets the umask: the tests also run in worker threads (test/support/umask.ts).
// flock(2) locks belong to the open file description, so a second descriptor opened in this same
// process is a second holder as far as the kernel is concerned.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach } from "vitest";
import { drainLockFile, drainRecordFile } from "../../src/lease/drain.js";
import { closeLockFile, type LockMode, lockFd, openLockFile, openRunDirLock } from "../../src/lease/flock.js";
import { initLogger, setLogWriter, settingsFromEnv } from "../../src/log.js";
import { type Held, prepareRecord, publishRecord, releaseHeld } from "../../src/lease/records.js";

const made: string[] = [];

export function makeRunDir(prefix = "ik-lease-"): string {
  const top = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(top);
  const d = path.join(top, "run");
  mkdirSync(d);
  chmodSync(d, 0o3770);
  return d;
}

/** Remove the run dirs made so far (afterAll; holders still running keep only their descriptors). */
export function removeRunDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Every descriptor and record a test opened, closed by `closeAll` (afterEach). */
export class Holders {
  private fds: number[] = [];
  private held: Held[] = [];

  /** Hold `file` (lease.lock by default) with `mode`; throws unless the kernel granted it at once. */
  async lock(runDir: string, mode: LockMode, file?: string): Promise<number> {
    const fd = file ? openRunDirLock(runDir, file, "test lock") : openLockFile(runDir);
    this.fds.push(fd);
    const r = await lockFd(fd, mode);
    if (r !== "locked") throw new Error(`test setup: ${mode} lock on ${file ?? "lease.lock"} is ${r}`);
    return fd;
  }

  /** A published, held record with `data` at `file`. */
  async record(file: string, data: unknown): Promise<Held> {
    const h = publishRecord(await prepareRecord(file), file, data);
    this.held.push(h);
    return h;
  }

  /**
   * Close one descriptor taken here (a lock, or a record's: the record then stays behind unheld, as
   * a SIGKILLed holder's does), so that closeAll does not close its number again once reused.
   */
  close(fd: number): void {
    // Only while still ours: after closeAll, the number may be another test's descriptor.
    if (!this.fds.includes(fd) && !this.held.some((h) => h.fd === fd)) return;
    this.fds = this.fds.filter((f) => f !== fd);
    this.held = this.held.filter((h) => h.fd !== fd);
    closeLockFile(fd);
  }

  closeAll(): void {
    for (const fd of this.fds.splice(0)) closeLockFile(fd);
    for (const h of this.held.splice(0)) releaseHeld(h);
  }
}

/** Can a new descriptor take `mode` on `file` right now (without waiting)? Closes it again. */
export async function free(runDir: string, mode: LockMode, file?: string): Promise<boolean> {
  const fd = file ? openRunDirLock(runDir, file, "test lock") : openLockFile(runDir);
  try {
    return (await lockFd(fd, mode)) === "locked";
  } finally {
    closeLockFile(fd);
  }
}

/** How many of this process's descriptors are open on `file` (a leaked lock descriptor shows here). */
export function openFdsOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // closed while we listed
    }
  }
  return n;
}

export const later = (ms: number, f: () => void) => setTimeout(f, ms);

/**
 * Capture the log as JSON events (the waits announce themselves there), and run `then` once when a
 * message matching `re` is logged: the way a test acts at a known point inside a wait.
 */
export function captureLog(): {
  events: { level: number; msg: string }[];
  when(re: RegExp, then: () => void): void;
  stop(): void;
} {
  const events: { level: number; msg: string }[] = [];
  const hooks: { re: RegExp; then: () => void }[] = [];
  initLogger({ ...settingsFromEnv({}), level: "debug", quiet: false, format: "json", journal: false });
  setLogWriter((text) => {
    for (const line of text.split("\n").filter(Boolean)) {
      const e = JSON.parse(line) as { level: number; msg: string };
      events.push({ level: e.level, msg: e.msg });
      for (const h of hooks.splice(0)) {
        if (h.re.test(e.msg)) h.then();
        else hooks.push(h);
      }
    }
  });
  return {
    events,
    when: (re, then) => void hooks.push({ re, then }),
    stop: () => setLogWriter(undefined),
  };
}

export interface LeaseTestHooks {
  /** Descriptors standing in for other holders: all closed after each test. */
  holders: Holders;
  /** Run after each test, in order (a prune lock or run lease a test took). */
  cleanups: (() => unknown)[];
  /** The current test's log capture (a fresh one per test). */
  log: ReturnType<typeof captureLog>;
}

/**
 * The hooks every lease test file sets up: a log capture per test; after each, the cleanups run
 * and the holders' descriptors close; after the file, its run dirs are removed. Call it once, at
 * the top of the file.
 */
export function leaseTestHooks(): LeaseTestHooks {
  const t = { holders: new Holders(), cleanups: [] } as unknown as LeaseTestHooks;
  beforeEach(() => {
    t.log = captureLog();
  });
  afterEach(async () => {
    t.log.stop();
    for (const c of t.cleanups.splice(0)) await c();
    t.holders.closeAll();
  });
  afterAll(removeRunDirs);
  return t;
}

/** A drainer's pid in a drain record a test holds (not this process, so never signalled). */
export const OTHER_DRAINER = 999_999;

/** A well-formed drain record (src/lease/drain.ts DrainRecord). */
export const drainRec = (pid: number, since: string, what = "gap prune") => ({
  v: 1,
  pid,
  startTime: 5,
  bootId: "boot",
  since,
  what,
});

/** Is drain.lock free for `mode` (the drain lock rather than lease.lock)? */
export const drainFree = (rd: string, mode: "shared" | "exclusive") => free(rd, mode, drainLockFile(rd));

/** Another drainer under way: its record held, drain.lock held exclusively (by `holders`). */
export async function otherDrain(holders: Holders, rd: string, since = "2026-01-01T00:00:00.000Z") {
  await holders.record(drainRecordFile(rd, OTHER_DRAINER), drainRec(OTHER_DRAINER, since, "the other"));
  return holders.lock(rd, "exclusive", drainLockFile(rd));
}
