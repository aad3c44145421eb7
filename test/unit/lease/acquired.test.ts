// `lease acquire` / `lease release` (src/lease/acquired.ts) against the real kernel, with real
// holders (`sleep` children holding lease.lock and the record): what an acquire publishes and
// hands over (nothing of it stays open in the CLI's process), renewal (a new holder first, then
// the old one stopped), the TTL ending a lease by itself, release's outcomes (released, not-found,
// expired) and each error a user reads: an id held by a run or by an unreadable record, a record
// naming a process that is gone or that does not prove to be the holder, a record that cannot be
// published. (A holder stopped while the record stays held is not here: release polls for 2 s
// before it says so, 100 flock runs, too slow for a unit test.)
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError, LeaseTimeoutError, ToolError } from "../../../src/errors.js";
import { acquireLease, releaseLease } from "../../../src/lease/acquired.js";
import { listLeases } from "../../../src/lease/lease.js";
import { readLeaseFile } from "../../../src/lease/metadata.js";
import { identify, isAlive } from "../../../src/lease/proc.js";
import { leaseFile, lockFile } from "../../../src/lease/rundir.js";
import {
  captureLog,
  free,
  Holders,
  makeRunDir,
  openFdsOn,
  removeRunDirs,
} from "../../support/lease-fixture.js";

const holders = new Holders();
const pids: number[] = [];
let log: ReturnType<typeof captureLog>;
beforeEach(() => {
  log = captureLog();
});
afterEach(() => {
  log.stop();
  holders.closeAll();
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

const until = async (what: string, f: () => Promise<boolean> | boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

async function acquire(rd: string, id: string, ttlMs = 60_000, waitMs = 1000) {
  const a = await acquireLease(rd, { id, ttlMs, waitMs, command: `test acquire ${id}` });
  if (a) pids.push(a.pid);
  return a;
}

const alive = (pid: number) => {
  const id = identify(pid);
  return id !== undefined && isAlive(id) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
};

const RELEASE_HINT =
  "Release a lease as the user that acquired it (or as root); a lease that cannot be released ends at its TTL. See who holds the record with fuser or lsof.";

async function errorOf(p: Promise<unknown>): Promise<Error & { hint?: string; kind?: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error & { hint?: string };
}

/** A held record of another shape, as another process (here: the test) would hold it. */
async function heldRecord(rd: string, id: string, data: unknown) {
  return holders.record(leaseFile(rd, id), data);
}

const runRecord = (id: string, pid: number) => ({
  v: 1,
  id,
  kind: "run",
  pid,
  startTime: 1,
  bootId: "b",
  command: "sh",
  since: "2026-01-01T00:00:00.000Z",
});

afterAll(removeRunDirs);

describe("acquireLease", () => {
  it("hands lease.lock and the record to a sleep holder for the TTL; the CLI keeps nothing open", async () => {
    const rd = makeRunDir();
    const t0 = Date.now();
    const a = (await acquire(rd, "job-1", 60_000))!;
    const t1 = Date.now();
    expect(a.id).toBe("job-1");
    expect(a.renewed).toBe(false);
    expect(readFileSync(`/proc/${a.pid}/cmdline`, "utf8")).toBe("sleep\u000060.000\u0000");
    const rec = JSON.parse(readFileSync(leaseFile(rd, "job-1"), "utf8")) as Record<string, string>;
    const holder = identify(a.pid)!;
    expect(rec).toEqual({
      v: 1,
      id: "job-1",
      kind: "acquired",
      pid: a.pid,
      startTime: holder.startTime,
      bootId: holder.bootId,
      command: "test acquire job-1",
      since: expect.any(String),
      expiresAt: a.expiresAt,
    });
    expect(Date.parse(a.expiresAt) - Date.parse(rec.since!)).toBe(60_000);
    expect(Date.parse(rec.since!)).toBeGreaterThanOrEqual(t0);
    expect(Date.parse(rec.since!)).toBeLessThanOrEqual(t1);
    expect(openFdsOn(lockFile(rd))).toBe(0);
    expect(openFdsOn(leaseFile(rd, "job-1"))).toBe(0);
    expect(readdirSync(rd).sort()).toEqual(["lease.job-1.json", "lease.lock"]);
    expect(await free(rd, "exclusive")).toBe(false);
    expect((await readLeaseFile(rd, "job-1"))?.held).toBe(true);
    expect((await listLeases(rd)).map((l) => [l.id, l.kind, l.expiresAt])).toEqual([
      ["job-1", "acquired", a.expiresAt],
    ]);

    expect(await releaseLease(rd, "job-1")).toBe("released");
    expect(alive(a.pid)).toBe(false);
    expect(existsSync(leaseFile(rd, "job-1"))).toBe(false);
    expect(await free(rd, "exclusive")).toBe(true);
    expect(await releaseLease(rd, "job-1")).toBe("not-found");
  });

  it("ends by itself when the TTL runs out; release then says expired and removes the record", async () => {
    const rd = makeRunDir();
    // Long enough that the first check comes before the end on a loaded host (a Stryker dry run
    // at load 8 saw 150 ms run out first); the wait for the end is not timed.
    const a = (await acquire(rd, "short", 2000))!;
    expect(await free(rd, "exclusive")).toBe(false);
    await until("the holder's end", async () => !(await readLeaseFile(rd, "short"))!.held, 15_000);
    expect(await free(rd, "exclusive")).toBe(true);
    expect(alive(a.pid)).toBe(false);
    expect(await releaseLease(rd, "short")).toBe("expired");
    expect(existsSync(leaseFile(rd, "short"))).toBe(false);
  });

  it("renewal: a new holder and expiry for a live id, the old holder stopped, the lock never free", async () => {
    const rd = makeRunDir();
    const a = (await acquire(rd, "job-1", 60_000))!;
    const b = (await acquire(rd, "job-1", 120_000))!;
    expect(b.renewed).toBe(true);
    expect(b.pid).not.toBe(a.pid);
    expect(Date.parse(b.expiresAt)).toBeGreaterThan(Date.parse(a.expiresAt));
    expect(alive(a.pid)).toBe(false);
    expect(alive(b.pid)).toBe(true);
    expect(await free(rd, "exclusive")).toBe(false);
    const f = (await readLeaseFile(rd, "job-1"))!;
    expect(f.held).toBe(true);
    expect(f.rec !== "invalid" && [f.rec.pid, f.rec.expiresAt]).toEqual([b.pid, b.expiresAt]);
    expect(await releaseLease(rd, "job-1")).toBe("released");
    expect(await free(rd, "exclusive")).toBe(true);
  });

  it("a stale record of the id (its holder gone) is no renewal and no refusal", async () => {
    const rd = makeRunDir();
    const stale = await heldRecord(rd, "job-1", runRecord("job-1", 4242));
    holders.close(stale.fd);
    const a = (await acquire(rd, "job-1"))!;
    expect(a.renewed).toBe(false);
    expect((await readLeaseFile(rd, "job-1"))?.held).toBe(true);
  });

  it("refuses an id held by `imagekeeper run`, or by a record it cannot read, taking nothing", async () => {
    const rd = makeRunDir();
    await heldRecord(rd, "job-1", runRecord("job-1", 4242));
    const e = await errorOf(acquire(rd, "job-1"));
    expect(e).toBeInstanceOf(InputError);
    expect(e.kind).toBe("usage");
    expect(e.message).toBe("lease job-1 belongs to `imagekeeper run` (pid 4242)");
    expect(e.hint).toBe("Choose another --id, or omit it for a generated one.");

    await heldRecord(rd, "job-2", { v: 2, what: "a newer imagekeeper" });
    const e2 = await errorOf(acquire(rd, "job-2"));
    expect(e2).toBeInstanceOf(InputError);
    expect(e2.message).toBe("lease job-2 is held by a record imagekeeper cannot read");
    expect(e2.hint).toBe("Choose another --id, or omit it for a generated one.");
    expect(readdirSync(rd).sort()).toEqual(["lease.job-1.json", "lease.job-2.json"]);
  });

  it("a prune outlasting waitMs: LeaseTimeoutError for `imagekeeper lease acquire`, no holder", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive");
    const e = await errorOf(acquireLease(rd, { id: "j", ttlMs: 60_000, waitMs: 20, command: "c" }));
    expect(e).toBeInstanceOf(LeaseTimeoutError);
    expect(e.message).toBe(
      `imagekeeper lease acquire: a prune still held the lease lock in ${rd} after 20ms`,
    );
    expect(readdirSync(rd)).toEqual(["lease.lock"]);
  });

  it("an aborted signal: undefined, no holder, no record", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive");
    const ac = new AbortController();
    log.when(/is in progress/, () => ac.abort());
    const r = await acquireLease(rd, {
      id: "j",
      ttlMs: 60_000,
      waitMs: 20_000,
      command: "c",
      signal: ac.signal,
    });
    expect(r).toBeUndefined();
    expect(readdirSync(rd)).toEqual(["lease.lock"]);
    expect(openFdsOn(lockFile(rd))).toBe(1); // the test's prune
  });

  it("a record that cannot be published: the error, and the new holder stopped (the lock free)", async () => {
    const rd = makeRunDir();
    // A directory in the record's place (not a record: readLeaseFile ignores it) makes the rename fail.
    mkdirSync(leaseFile(rd, "job-1"));
    writeFileSync(`${leaseFile(rd, "job-1")}/x`, "");
    const e = await errorOf(acquire(rd, "job-1"));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toMatch(new RegExp(`^cannot publish the lease record ${leaseFile(rd, "job-1")}: E`));
    expect(await free(rd, "exclusive")).toBe(true);
    expect(readdirSync(rd).sort()).toEqual(["lease.job-1.json", "lease.lock"]);
  });
});

describe("releaseLease", () => {
  it("refuses a run's lease, naming the command's pid to signal", async () => {
    const rd = makeRunDir();
    await heldRecord(rd, "run-1", runRecord("run-1", 4242));
    const e = await errorOf(releaseLease(rd, "run-1"));
    expect(e).toBeInstanceOf(InputError);
    expect(e.kind).toBe("usage");
    expect(e.message).toBe("lease run-1 belongs to `imagekeeper run` (pid 4242) and ends with its command");
    expect(e.hint).toBe("Stop that command instead (kill -TERM 4242 forwards the signal to it).");
    expect(existsSync(leaseFile(rd, "run-1"))).toBe(true);
  });

  it("refuses a held record it cannot read", async () => {
    const rd = makeRunDir();
    await heldRecord(rd, "x", { v: 2 });
    const e = await errorOf(releaseLease(rd, "x"));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe(`lease x in ${rd} is held, but its record is not one imagekeeper reads`);
    expect(e.hint).toBe("Was it taken by another imagekeeper version? Release it with that version.");
    expect(existsSync(leaseFile(rd, "x"))).toBe(true);
  });

  it("an unheld record of any shape is expired, and removed", async () => {
    const rd = makeRunDir();
    const h = await heldRecord(rd, "x", { v: 2 });
    holders.close(h.fd);
    expect(await releaseLease(rd, "x")).toBe("expired");
    expect(existsSync(leaseFile(rd, "x"))).toBe(false);
  });

  it("a held record naming a process that is gone (pid reused): nothing signalled, the record kept", async () => {
    const rd = makeRunDir();
    const me = identify(process.pid)!;
    // This very process under another start time: the recorded process is gone, its pid reused.
    await heldRecord(rd, "job-1", {
      ...runRecord("job-1", process.pid),
      kind: "acquired",
      startTime: me.startTime + 1,
      bootId: me.bootId,
      expiresAt: "2026-01-01T01:00:00.000Z",
    });
    const e = await errorOf(releaseLease(rd, "job-1"));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toBe(
      `lease job-1 is held, but not by the process its record names (pid ${process.pid} is gone); nothing was signalled`,
    );
    expect(e.hint).toBe(RELEASE_HINT);
    expect(existsSync(leaseFile(rd, "job-1"))).toBe(true);
  });

  it("a held record naming a live process that does not hold it: that process is not signalled", async () => {
    const rd = makeRunDir();
    const stranger = spawn("sleep", ["30"], { stdio: "ignore" });
    pids.push(stranger.pid!);
    await until("the stranger's start", () => identify(stranger.pid!) !== undefined);
    const who = identify(stranger.pid!)!;
    await heldRecord(rd, "job-1", {
      ...runRecord("job-1", who.pid),
      kind: "acquired",
      startTime: who.startTime,
      bootId: who.bootId,
      expiresAt: "2026-01-01T01:00:00.000Z",
    });
    const e = await errorOf(releaseLease(rd, "job-1"));
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toBe(
      `not signalling pid ${who.pid}: pid ${who.pid} does not hold the lease record open`,
    );
    expect(alive(who.pid)).toBe(true);
    expect(existsSync(leaseFile(rd, "job-1"))).toBe(true);
  });
});
