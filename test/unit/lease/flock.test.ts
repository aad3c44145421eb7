// The kernel lock as lockFd maps it: flock(1)'s exit status to locked / busy / aborted or a
// ToolError (through the `exec` seam, so every outcome is reachable), and the same against the real
// kernel on a scratch lock file (flock(1) is part of util-linux, always installed here).
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ToolError } from "../../../src/errors.js";
import type { RunOptions, RunResult } from "../../../src/exec.js";
import { closeLockFile, lockFd, lockFileId, openLockFile } from "../../../src/lease/flock.js";
import { lockFile } from "../../../src/lease/rundir.js";

type Call = { file: string; args: readonly string[]; opts: RunOptions };

/** A stand-in for exec's run that records its call and answers `result`. */
function fakeRun(result: Partial<RunResult>) {
  const calls: Call[] = [];
  const exec = async (file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> => {
    calls.push({ file, args, opts });
    return {
      argv: [file, ...args],
      exitCode: undefined,
      signal: undefined,
      stdout: "",
      stderr: "",
      durationMs: 1,
      timedOut: false,
      aborted: false,
      ...result,
    };
  };
  return { exec, calls };
}

describe("lockFd: flock's outcome", () => {
  it.each<[string, Partial<RunResult>, string]>([
    ["exit 0", { exitCode: 0 }, "locked"],
    ["exit 1 (conflict, or --wait ran out)", { exitCode: 1 }, "busy"],
    ["aborted by the caller's signal", { aborted: true, exitCode: undefined, signal: "SIGTERM" }, "aborted"],
    // Aborted wins over whatever exit status the killed flock had.
    ["aborted after it exited 0", { aborted: true, exitCode: 0 }, "aborted"],
    ["aborted after it exited 1", { aborted: true, exitCode: 1 }, "aborted"],
  ])("%s → %s", async (_what, result, want) => {
    const { exec } = fakeRun(result);
    expect(await lockFd(7, "shared", {}, exec)).toBe(want);
  });

  it.each<[string, Partial<RunResult>, string]>([
    [
      "another exit status",
      { exitCode: 64, stderr: "flock: bad file descriptor\n" },
      "flock --exclusive --nonblock 3 failed (exit 64): flock: bad file descriptor",
    ],
    [
      "killed by a signal",
      { exitCode: undefined, signal: "SIGKILL", stderr: "" },
      "flock --exclusive --nonblock 3 failed (exit SIGKILL): ",
    ],
    [
      "hung past its timeout",
      { exitCode: undefined, signal: "SIGTERM", timedOut: true, stderr: " stuck " },
      "flock --exclusive --nonblock 3 failed (timed out): stuck",
    ],
  ])("%s is a ToolError saying what flock did", async (_what, result, message) => {
    const { exec } = fakeRun(result);
    const e = await lockFd(7, "exclusive", {}, exec).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ToolError);
    expect((e as ToolError).message).toBe(message);
    expect((e as ToolError).hint).toBe(
      "flock comes from util-linux; check that it is installed and on PATH.",
    );
  });

  it("runs flock on the descriptor as fd 3, with a guard of the wait plus 30 s", async () => {
    const { exec, calls } = fakeRun({ exitCode: 0 });
    await lockFd(9, "shared", { waitMs: 2_500 }, exec);
    await lockFd(9, "exclusive", {}, exec);
    expect(calls.map((c) => [c.file, c.args, c.opts.fds, c.opts.timeoutMs, "signal" in c.opts])).toEqual([
      ["flock", ["--shared", "--wait", "2.500", "3"], [9], 32_500, false],
      ["flock", ["--exclusive", "--nonblock", "3"], [9], 30_000, false],
    ]);
  });

  it("passes the caller's abort signal on", async () => {
    const { exec, calls } = fakeRun({ exitCode: 0 });
    const signal = new AbortController().signal;
    await lockFd(9, "shared", { signal }, exec);
    expect(calls[0]!.opts.signal).toBe(signal);
  });
});

// The run dirs are made here, as systemd-tmpfiles makes them on a host, so openLockFile finds them
// and never sets the umask: these tests also run in a mutation run's worker threads
// (test/support/umask.ts).
describe("lockFd against the kernel", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ik-flock-"));
  const makeRunDir = (d: string) => {
    mkdirSync(d);
    chmodSync(d, 0o3770);
    return d;
  };
  const runDir = makeRunDir(path.join(dir, "run"));
  const open: number[] = [];
  const openLock = () => {
    const fd = openLockFile(runDir);
    open.push(fd);
    return fd;
  };
  afterAll(() => open.forEach(closeLockFile));

  it("exclusive excludes everyone; shared excludes only exclusive; closing releases", async () => {
    const a = openLock();
    const b = openLock();
    expect(await lockFd(a, "shared")).toBe("locked");
    expect(await lockFd(b, "shared")).toBe("locked");
    expect(await lockFd(openLock(), "exclusive")).toBe("busy");
    closeLockFile(a);
    closeLockFile(b);
    const c = openLock();
    expect(await lockFd(c, "exclusive")).toBe("locked");
    expect(await lockFd(openLock(), "shared")).toBe("busy");
    // Waiting is bounded by waitMs: still busy after it.
    expect(await lockFd(openLock(), "exclusive", { waitMs: 50 })).toBe("busy");
    closeLockFile(c);
    expect(await lockFd(openLock(), "exclusive", { waitMs: 50 })).toBe("locked");
  });

  it("an aborted signal is aborted, without taking the lock", async () => {
    const other = makeRunDir(path.join(dir, "other"));
    const fd = openLockFile(other);
    open.push(fd);
    const ac = new AbortController();
    ac.abort();
    expect(await lockFd(fd, "exclusive", { signal: ac.signal })).toBe("aborted");
    expect(await lockFd(openLockFile(other), "exclusive")).toBe("locked");
  });

  it("a lock path that is not a regular file (a directory opens read-only) is a ToolError", () => {
    const d = path.join(dir, "dirlock");
    mkdirSync(path.join(d, "lease.lock"), { recursive: true });
    expect(() => openLockFile(d)).toThrow(ToolError);
    expect(() => openLockFile(d)).toThrow(`cannot open the lease lock ${lockFile(d)}: not a regular file`);
  });
  it.skipIf(process.getuid?.() !== 0)(
    "a run dir where lease.lock cannot be created (runs as root): a ToolError with the creation's own error",
    () => {
      // Not the ENOENT of opening a file that is not there: the EPERM of creating it (an immutable
      // directory refuses even root; a read-only file system refuses alike with EROFS).
      const d = makeRunDir(path.join(dir, "immutable"));
      execFileSync("chattr", ["+i", d]);
      try {
        expect(() => openLockFile(d)).toThrow(
          `cannot open the lease lock ${lockFile(d)}: EPERM: operation not permitted, open '${lockFile(d)}'`,
        );
      } finally {
        execFileSync("chattr", ["-i", d]);
      }
    },
  );

  it("lockFileId: the lock file's device and inode; undefined when missing or not a regular file", () => {
    const d = makeRunDir(path.join(dir, "ids"));
    expect(lockFileId(d)).toBeUndefined();
    closeLockFile(openLockFile(d));
    const st = statSync(lockFile(d));
    expect(lockFileId(d)).toEqual({ dev: st.dev, ino: st.ino });
    const link = makeRunDir(path.join(dir, "ids-link"));
    writeFileSync(path.join(link, "target"), "");
    symlinkSync("target", lockFile(link));
    expect(lockFileId(link)).toBeUndefined();
  });
});
