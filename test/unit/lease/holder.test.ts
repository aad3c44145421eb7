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

afterAll(removeRunDirs);

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
