// The `lease acquire` holder (src/lease/holder.ts) as a real `sleep` child: it holds the
// descriptors it is given (their locks outlive our copies), and stopHolder signals it only once it
// proves to be the holder of the record and of lease.lock: "stopped" (it has exited, its locks are
// free), "gone" (the recorded process no longer exists: nothing signalled), or a ToolError naming
// what was not proven, the process left alone. (sleepSeconds is pinned in metadata.test.ts.)
import { spawn } from "node:child_process";
import { fstatSync, readFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ToolError } from "../../../src/errors.js";
import { type HolderFiles, startHolder, stopHolder } from "../../../src/lease/holder.js";
import { identify, type ProcessIdentity } from "../../../src/lease/proc.js";
import { leaseFile } from "../../../src/lease/rundir.js";
import { asRoot, foreignProc, removeCaller, runCaller } from "../../support/lease-child.js";
import { free, Holders, makeRunDir, removeRunDirs } from "../../support/lease-fixture.js";

const holders = new Holders();
const pids: number[] = [];
afterEach(() => {
  holders.closeAll();
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

const running = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

const HINT =
  "Release a lease as the user that acquired it (or as root); a lease that cannot be released ends at its TTL.";

/** A holder of lease.lock (shared) and a record, as `lease acquire` starts one; our copies closed. */
async function holding(rd: string, ttlMs = 60_000) {
  const lock = await holders.lock(rd, "shared");
  const rec = await holders.record(leaseFile(rd, "h"), { v: 1 });
  const who = await startHolder([lock, rec.fd], ttlMs);
  pids.push(who.pid);
  const l = fstatSync(lock);
  const r = fstatSync(rec.fd);
  const files: HolderFiles = {
    record: { dev: r.dev, ino: r.ino, uid: r.uid },
    lock: { dev: l.dev, ino: l.ino },
  };
  holders.close(lock);
  holders.close(rec.fd);
  return { who, files };
}

/** lease.lock held shared and a record, still open here (to be handed to a holder). */
async function heldFiles(rd: string) {
  const lock = await holders.lock(rd, "shared");
  const rec = await holders.record(leaseFile(rd, "h"), { v: 1 });
  const l = fstatSync(lock);
  const r = fstatSync(rec.fd);
  const files: HolderFiles = {
    record: { dev: r.dev, ino: r.ino, uid: r.uid },
    lock: { dev: l.dev, ino: l.ino },
  };
  return { lock, rec, files };
}

afterAll(removeRunDirs);
afterAll(removeCaller);

describe("startHolder", () => {
  it("starts `sleep TTL` holding the descriptors it is given, after ours are closed", async () => {
    const rd = makeRunDir();
    const { who } = await holding(rd, 30_000);
    expect(who).toEqual(identify(who.pid));
    expect(readFileSync(`/proc/${who.pid}/cmdline`, "utf8")).toBe("sleep\u000030.000\u0000");
    expect(await free(rd, "exclusive")).toBe(false);
    process.kill(who.pid, "SIGKILL");
    for (let i = 0; i < 200 && running(who.pid); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await free(rd, "exclusive")).toBe(true);
  });
});

describe("stopHolder", () => {
  it("the proven holder: stopped, exited, its locks free", async () => {
    const rd = makeRunDir();
    const { who, files } = await holding(rd);
    expect(await stopHolder(who, files)).toBe("stopped");
    expect(running(who.pid)).toBe(false);
    expect(await free(rd, "exclusive")).toBe(true);
  });

  it("a recorded process that no longer exists (its pid reused): gone, nothing signalled", async () => {
    const rd = makeRunDir();
    const { who, files } = await holding(rd);
    const reused: ProcessIdentity = { ...who, startTime: who.startTime + 1 };
    expect(await stopHolder(reused, files)).toBe("gone");
    expect(running(who.pid)).toBe(true);
  });

  it.each<[string, (f: HolderFiles) => HolderFiles, string]>([
    [
      "another record",
      (f) => ({ ...f, record: { ...f.record, ino: f.record.ino + 1_000_000 } }),
      "the lease record",
    ],
    [
      "another lock file",
      (f) => ({ ...f, lock: { ...f.lock, ino: f.lock.ino + 1_000_000 } }),
      "the lease lock",
    ],
  ])("a holder of %s is not proven: ToolError, left running", async (_what, change, missing) => {
    const rd = makeRunDir();
    const { who, files } = await holding(rd);
    const e = await stopHolder(who, change(files)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ToolError);
    expect((e as ToolError).message).toBe(
      `not signalling pid ${who.pid}: pid ${who.pid} does not hold ${missing} open`,
    );
    expect((e as ToolError).hint).toBe(HINT);
    expect(running(who.pid)).toBe(true);
  });

  it("a holder that ignores SIGTERM is SIGKILLed", async () => {
    const rd = makeRunDir();
    const lock = await holders.lock(rd, "shared");
    const rec = await holders.record(leaseFile(rd, "h"), { v: 1 });
    const child = spawn("sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], {
      stdio: ["ignore", "pipe", "ignore", lock, rec.fd],
    });
    pids.push(child.pid!);
    await new Promise((r) => child.stdout!.once("data", r));
    const l = fstatSync(lock);
    const r = fstatSync(rec.fd);
    const files = { record: { dev: r.dev, ino: r.ino, uid: r.uid }, lock: { dev: l.dev, ino: l.ino } };
    const t0 = performance.now();
    expect(await stopHolder(identify(child.pid!)!, files)).toBe("stopped");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1900); // SIGTERM's grace, then SIGKILL
    expect(running(child.pid!)).toBe(false);
  });
});

// The error paths no process of the test runner's own reaches, run as a caller the kernel treats
// differently (test/support/lease-child.ts: the code under test, bundled, in a child process).
describe.skipIf(!asRoot)("stopHolder and startHolder where the kernel says no (runs as root)", () => {
  it("a caller that may read the holder's descriptors but not signal it: EPERM, the holder left running", async () => {
    // Another user with CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE (it proves the holder) but no
    // CAP_KILL: kill(2) refuses it.
    const rd = makeRunDir();
    const { who, files } = await holding(rd);
    const caps = "-all,+dac_read_search,+sys_ptrace";
    const setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    const r = await runCaller(
      [...setpriv, `--inh-caps=${caps}`, "--ambient-caps=+dac_read_search,+sys_ptrace"],
      "stop",
      { pid: who.pid, files },
    );
    expect(r).toEqual({
      error: {
        name: "ToolError",
        message: `cannot stop the lease holder pid ${who.pid}: kill EPERM`,
        hint: "Release a lease as the user that acquired it (or as root).",
      },
    });
    expect(running(who.pid)).toBe(true);
    expect(await free(rd, "exclusive")).toBe(false);
  }, 30_000);

  it("a holder SIGKILL does not end (a PID namespace's init, signalled from inside): a ToolError after both signals", async () => {
    // The kernel drops signals sent from inside a PID namespace to its init when the init has no
    // handler for them, SIGKILL included (pid_namespaces(7)). The holder is that init (a shell
    // holding the record and lease.lock as fds 3 and 4), the caller its child.
    const rd = makeRunDir();
    const { lock, rec, files } = await heldFiles(rd);
    const init = ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", '"$@"; true', "sh"];
    const t0 = performance.now();
    const r = await runCaller(init, "stop", { pid: 1, files }, [lock, rec.fd]);
    expect(r).toEqual({
      error: { name: "ToolError", message: "the lease holder pid 1 did not exit after SIGKILL" },
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3900); // 2 s after SIGTERM, 2 s after SIGKILL
  }, 60_000);

  it("a holder gone between the proof and kill(2) (ESRCH): stopped", async () => {
    // The race of a holder ending (its TTL) right after its proof, made deterministic: the caller
    // reads a /proc of another PID namespace, where the holder is (pid > 150: the script burns
    // pids first), but signals in a PID namespace of its own, where no process has that pid.
    const rd = makeRunDir();
    const { lock, rec, files } = await heldFiles(rd);
    const burn = "i=0; while [ $i -lt 150 ]; do /bin/true; i=$((i+1)); done";
    const ns = await foreignProc(`${burn}; sleep 600 & echo $!; wait`, [lock, rec.fd]);
    try {
      const pid = Number(ns.ready);
      expect(pid).toBeGreaterThan(150); // above every pid (and thread id) of the caller's namespace
      const own = ["unshare", "--pid", "--fork", "sh", "-c", '"$@"; true', "sh"];
      expect(await runCaller([...ns.prefix, ...own], "stop", { pid, files })).toEqual({ ok: "stopped" });
    } finally {
      ns.stop();
    }
  }, 30_000);

  it("a holder that /proc does not show once spawned: a ToolError, not an identity", async () => {
    // A /proc mounted for another PID namespace shows neither the caller nor the sleep it starts.
    const ns = await foreignProc();
    try {
      const r = await runCaller(ns.prefix, "start", {});
      expect(r).toMatchObject({ error: { name: "ToolError" } });
      const message = (r as { error: { message: string } }).error.message;
      expect(message).toMatch(/^the lease holder \(sleep, pid [1-9]\d*\) exited at once$/);
    } finally {
      ns.stop();
    }
  }, 30_000);
});
