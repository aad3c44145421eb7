// The drain (src/lease/drain.ts) against the real kernel, drainers and runs played by descriptors
// of this process (flock(2) locks belong to open file descriptions, so each is its own holder):
//   - drain records: which count (held, well-formed, named drain.<pid>.json; the oldest wins), and
//     that a stale one is removed on the way;
//   - callerHoldsLease: only a well-formed id whose record is held;
//   - the gate: no lock at all while no drain is announced; behind a drain, drain.lock shared for at
//     most waitMs, then in (passed) or ahead of it (passed: false); abort; leave() idempotent;
//   - drainAndLock: drain.lock exclusive, then lease.lock exclusive within waitMs (what it waited
//     for, the timeout, abort); behind another drain: drain.lock SHARED (runs at the gate get in
//     with it), then stillNeeded ("not-needed" when room was made), then its own drain with a
//     fresh waitMs; releasing frees both locks and removes its records.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closeLockFile } from "../../../src/lease/flock.js";
import {
  callerHoldsLease,
  type DrainResult,
  drainAndLock,
  drainLockFile,
  drainRecordFile,
  enterGate,
  LEASE_ENV,
  liveDrainRecord,
} from "../../../src/lease/drain.js";
import { identify } from "../../../src/lease/proc.js";
import { leaseFile } from "../../../src/lease/rundir.js";
import { startRunLease } from "../../../src/lease/run-lease.js";
import { captureLog, free, Holders, later, makeRunDir, openFdsOn } from "../../support/lease-fixture.js";

const holders = new Holders();
const cleanups: (() => unknown)[] = [];
let log: ReturnType<typeof captureLog>;
beforeEach(() => {
  log = captureLog();
});
afterEach(async () => {
  log.stop();
  for (const c of cleanups.splice(0)) await c();
  holders.closeAll();
});

const OTHER = 999_999; // a drainer's pid in a record the test holds (not this process)
const rec = (pid: number, since: string, what = "gap prune") => ({
  v: 1,
  pid,
  startTime: 5,
  bootId: "boot",
  since,
  what,
});
const drainFree = (rd: string, mode: "shared" | "exclusive") => free(rd, mode, drainLockFile(rd));
const msgs = () => log.events.filter((e) => e.level >= 30).map((e) => e.msg); // info and up

/** Another drainer under way: its record held, drain.lock held exclusively. */
async function otherDrain(rd: string, since = "2026-01-01T00:00:00.000Z") {
  await holders.record(drainRecordFile(rd, OTHER), rec(OTHER, since, "the other"));
  return holders.lock(rd, "exclusive", drainLockFile(rd));
}

function track(r: DrainResult): DrainResult {
  if (r.ok) cleanups.push(() => r.lock.release());
  return r;
}

describe("drain files", () => {
  it("are drain.lock and drain.<pid>.json in the run dir; the lease id travels as IMAGEKEEPER_LEASE", () => {
    expect(drainLockFile("/r")).toBe("/r/drain.lock");
    expect(drainRecordFile("/r", 42)).toBe("/r/drain.42.json");
    expect(LEASE_ENV).toBe("IMAGEKEEPER_LEASE");
  });
});

describe("liveDrainRecord", () => {
  it("none without a run dir, or without records", async () => {
    expect(await liveDrainRecord("/nonexistent/imagekeeper-run")).toBeUndefined();
    expect(await liveDrainRecord(makeRunDir())).toBeUndefined();
  });

  it.each([
    ["the first named is the oldest", ["2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z"]],
    ["the second named is the oldest", ["2026-01-01T00:00:02.000Z", "2026-01-01T00:00:01.000Z"]],
  ])("the oldest held one counts (%s)", async (_what, [s1, s2]) => {
    const rd = makeRunDir();
    await holders.record(drainRecordFile(rd, 1), rec(1, s1!));
    await holders.record(drainRecordFile(rd, 2), rec(2, s2!));
    expect((await liveDrainRecord(rd))?.since).toBe("2026-01-01T00:00:01.000Z");
  });

  it("a held one is returned whole", async () => {
    const rd = makeRunDir();
    await holders.record(drainRecordFile(rd, 7), rec(7, "2026-01-01T00:00:00.000Z"));
    expect(await liveDrainRecord(rd)).toEqual(rec(7, "2026-01-01T00:00:00.000Z"));
  });

  it("a stale one (its drainer SIGKILLed) is removed and counts for nothing", async () => {
    const rd = makeRunDir();
    const h = await holders.record(drainRecordFile(rd, 7), rec(7, "2026-01-01T00:00:00.000Z"));
    closeLockFile(h.fd);
    expect(await liveDrainRecord(rd)).toBeUndefined();
    expect(readdirSync(rd)).toEqual([]);
  });

  it("held files of another name or shape count for nothing, and are left alone", async () => {
    const rd = makeRunDir();
    const old = "2026-01-01T00:00:00.000Z";
    for (const name of ["xdrain.1.json", "drain.1.json.bak", "drain.a.json", "drain..json"])
      await holders.record(path.join(rd, name), rec(1, old));
    await holders.record(drainRecordFile(rd, 2), { ...rec(2, old), what: "w".repeat(201) });
    await holders.record(drainRecordFile(rd, 3), { ...rec(3, old), extra: 1 });
    await holders.record(drainRecordFile(rd, 4), rec(4, "2026-01-01T00:00:09.000Z"));
    expect((await liveDrainRecord(rd))?.pid).toBe(4);
    // An unheld file of another name is not a drain record either: never removed.
    const h = await holders.record(path.join(rd, "drain.5.json.bak"), rec(5, old));
    closeLockFile(h.fd);
    await liveDrainRecord(rd);
    expect(readdirSync(rd)).toContain("drain.5.json.bak");
  });
});

describe("callerHoldsLease", () => {
  it("the id in IMAGEKEEPER_LEASE, only while its record is held", async () => {
    const rd = makeRunDir();
    const lease = await startRunLease(rd, { command: ["true"], waitMs: 0 });
    cleanups.push(() => lease!.release());
    expect(await callerHoldsLease(rd, { IMAGEKEEPER_LEASE: lease!.id })).toBe(lease!.id);
    expect(await callerHoldsLease(rd, {})).toBeUndefined();
    expect(await callerHoldsLease(rd, { IMAGEKEEPER_LEASE: "" })).toBeUndefined();
    expect(await callerHoldsLease(rd, { IMAGEKEEPER_LEASE: "run-000000000000" })).toBeUndefined();
    lease!.release();
    expect(await callerHoldsLease(rd, { IMAGEKEEPER_LEASE: lease!.id })).toBeUndefined();
  });

  it("an id that is no lease id is never looked up, even where such a file is held", async () => {
    const rd = makeRunDir();
    await holders.record(leaseFile(rd, ".hidden"), { v: 1 });
    expect(await callerHoldsLease(rd, { IMAGEKEEPER_LEASE: ".hidden" })).toBeUndefined();
  });

  it("a run dir that cannot be read is no lease held", async () => {
    const notDir = path.join(makeRunDir(), "file");
    writeFileSync(notDir, "");
    expect(await callerHoldsLease(notDir, { IMAGEKEEPER_LEASE: "job-1" })).toBeUndefined();
  });
});

describe("enterGate", () => {
  it("no drain announced: through at once, without even creating drain.lock", async () => {
    const rd = makeRunDir();
    const g = await enterGate(rd, { waitMs: 1000, what: "imagekeeper run" });
    expect(g).toMatchObject({ waitedMs: 0, passed: true });
    g!.leave();
    expect(readdirSync(rd)).toEqual([]);
  });

  it("a stale record: through at once, the record removed, drain.lock held shared until leave()", async () => {
    const rd = makeRunDir();
    const h = await holders.record(drainRecordFile(rd, OTHER), rec(OTHER, "2026-01-01T00:00:00.000Z"));
    closeLockFile(h.fd);
    const g = await enterGate(rd, { waitMs: 1000, what: "imagekeeper run" });
    expect(g).toMatchObject({ waitedMs: 0, passed: true });
    expect(readdirSync(rd)).toEqual(["drain.lock"]);
    expect(await drainFree(rd, "shared")).toBe(true);
    expect(await drainFree(rd, "exclusive")).toBe(false);
    g!.leave();
    expect(await drainFree(rd, "exclusive")).toBe(true);
    // Idempotent: the descriptor number, reused since, is not closed again.
    await holders.lock(rd, "shared", drainLockFile(rd));
    g!.leave();
    expect(await drainFree(rd, "exclusive")).toBe(false);
  });

  it("behind a drain that outlasts waitMs: ahead of it (passed: false), having said so", async () => {
    const rd = makeRunDir();
    await otherDrain(rd);
    const g = await enterGate(rd, { waitMs: 40, what: "imagekeeper run" });
    expect(g?.passed).toBe(false);
    expect(g!.waitedMs).toBeGreaterThanOrEqual(30);
    expect(openFdsOn(drainLockFile(rd))).toBe(1); // the other drain's; the gate's is closed
    g!.leave();
    expect(msgs()).toEqual([
      `imagekeeper run: a gap prune (the other, pid ${OTHER}, since 2026-01-01T00:00:00.000Z) is waiting for live runs to end, then prunes; this run waits behind it, up to 40ms (lease.wait)`,
      "imagekeeper run: the gap prune had not finished after 40ms; going ahead of it",
    ]);
  });

  it("waitMs 0: ahead of an announced drain at once", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive", drainLockFile(rd));
    await holders.record(drainRecordFile(rd, OTHER), { not: "a drain record" });
    const t0 = performance.now();
    const g = await enterGate(rd, { waitMs: 0, what: "x" });
    expect(g).toMatchObject({ passed: false });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(msgs()[0]).toBe(
      "x: a gap prune is waiting for live runs to end, then prunes; this run waits behind it, up to 0ms (lease.wait)",
    );
  });

  it("behind a drain that ends within waitMs: in, with the wait counted, drain.lock shared until leave()", async () => {
    const rd = makeRunDir();
    const drain = await otherDrain(rd);
    log.when(/waits behind it/, () => later(60, () => closeLockFile(drain)));
    const g = await enterGate(rd, { waitMs: 10_000, what: "imagekeeper run" });
    expect(g?.passed).toBe(true);
    expect(g!.waitedMs).toBeGreaterThanOrEqual(50);
    expect(g!.waitedMs).toBeLessThan(10_000);
    expect(msgs()[1]).toMatch(/^imagekeeper run: the gap prune finished after \d+ms; proceeding$/);
    expect(await drainFree(rd, "exclusive")).toBe(false);
    expect(await drainFree(rd, "shared")).toBe(true);
    g!.leave();
    expect(await drainFree(rd, "exclusive")).toBe(true);
  });

  it("an abort, before or during the wait: undefined, nothing held", async () => {
    const rd = makeRunDir();
    await otherDrain(rd);
    const ac = new AbortController();
    ac.abort();
    expect(await enterGate(rd, { waitMs: 10_000, what: "x", signal: ac.signal })).toBeUndefined();
    expect(openFdsOn(drainLockFile(rd))).toBe(1);
    const ac2 = new AbortController();
    log.when(/waits behind it/, () => ac2.abort());
    const t0 = performance.now();
    expect(await enterGate(rd, { waitMs: 20_000, what: "x", signal: ac2.signal })).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(openFdsOn(drainLockFile(rd))).toBe(1);
  });
});

describe("drainAndLock", () => {
  it("no runs, no other drain: both locks exclusive, records published, all gone on release", async () => {
    const rd = makeRunDir();
    const waits: unknown[] = [];
    const t0 = Date.now();
    const r = track(
      await drainAndLock(rd, { waitMs: 1000, what: "gap prune for x", onWait: (w) => waits.push(w) }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.waitedFor).toEqual([]);
    expect(waits).toEqual([]);
    expect(await free(rd, "shared")).toBe(false);
    expect(await drainFree(rd, "shared")).toBe(false);
    const me = identify(process.pid)!;
    const mine = JSON.parse(readFileSync(drainRecordFile(rd, process.pid), "utf8")) as Record<
      string,
      unknown
    >;
    expect(mine).toEqual({ ...rec(process.pid, mine.since as string, "gap prune for x"), ...me });
    expect(Date.parse(mine.since as string)).toBeGreaterThanOrEqual(t0);
    expect(readdirSync(rd).sort()).toEqual([
      `drain.${process.pid}.json`,
      "drain.lock",
      "exclusive.json",
      "lease.lock",
    ]);
    // A run at the gate now waits (and goes ahead after its waitMs).
    expect((await enterGate(rd, { waitMs: 20, what: "x" }))?.passed).toBe(false);

    await r.lock.release();
    expect(await free(rd, "exclusive")).toBe(true);
    expect(await drainFree(rd, "exclusive")).toBe(true);
    expect(readdirSync(rd).sort()).toEqual(["drain.lock", "lease.lock"]);
    // Idempotent: descriptors opened since (reusing the numbers) stay open.
    await holders.lock(rd, "shared");
    await holders.lock(rd, "shared", drainLockFile(rd));
    await r.lock.release();
    expect(await free(rd, "exclusive")).toBe(false);
    expect(await drainFree(rd, "exclusive")).toBe(false);
  });

  it("a `what` is recorded up to 200 characters", async () => {
    const rd = makeRunDir();
    const r = track(await drainAndLock(rd, { waitMs: 1000, what: "w".repeat(300) }));
    expect(r.ok).toBe(true);
    expect((await liveDrainRecord(rd))?.what).toBe("w".repeat(200));
  });

  it("waits for the live leases (and says which), then gets the prune lock", async () => {
    const rd = makeRunDir();
    const run = await startRunLease(rd, { command: ["make", "test"], waitMs: 0 });
    cleanups.push(() => run!.release());
    const waits: { for: string; leases?: { id: string }[] }[] = [];
    const r = track(
      await drainAndLock(rd, {
        waitMs: 10_000,
        what: "p",
        onWait: (w) => {
          waits.push(w as (typeof waits)[number]);
          later(60, () => run!.release());
        },
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(waits.map((w) => [w.for, w.leases?.map((l) => l.id)])).toEqual([["leases", [run!.id]]]);
    expect(r.waitedFor.map((l) => [l.id, l.command])).toEqual([[run!.id, "make test"]]);
    expect(r.waitedMs).toBeGreaterThanOrEqual(50);
  });

  it("leases outlasting waitMs: timeout, with them; nothing of the drain left held", async () => {
    const rd = makeRunDir();
    const run = await startRunLease(rd, { command: ["sleep"], waitMs: 0 });
    cleanups.push(() => run!.release());
    const r = await drainAndLock(rd, { waitMs: 40, what: "p" });
    expect(r).toMatchObject({ ok: false, why: "timeout" });
    if (r.ok) return;
    expect(r.leases.map((l) => l.id)).toEqual([run!.id]);
    expect(r.waitedMs).toBeGreaterThanOrEqual(30);
    expect(await drainFree(rd, "exclusive")).toBe(true);
    expect(readdirSync(rd).sort()).toEqual(["drain.lock", "lease.lock", `lease.${run!.id}.json`]);
    expect(openFdsOn(drainLockFile(rd))).toBe(0);
  });

  it("an abort while waiting for leases: aborted, nothing of the drain left held", async () => {
    const rd = makeRunDir();
    const run = await startRunLease(rd, { command: ["sleep"], waitMs: 0 });
    cleanups.push(() => run!.release());
    const ac = new AbortController();
    const r = await drainAndLock(rd, {
      waitMs: 20_000,
      what: "p",
      signal: ac.signal,
      onWait: () => ac.abort(),
    });
    expect(r).toMatchObject({ ok: false, why: "aborted" });
    expect(await drainFree(rd, "exclusive")).toBe(true);
    expect(readdirSync(rd)).not.toContain(`drain.${process.pid}.json`);
  });

  it("behind another drain that outlasts waitMs: timeout, no leases, nothing held", async () => {
    const rd = makeRunDir();
    await otherDrain(rd);
    let asked = 0;
    const r = await drainAndLock(rd, {
      waitMs: 40,
      what: "p",
      stillNeeded: async () => {
        asked++;
        return true;
      },
    });
    expect(r).toMatchObject({ ok: false, why: "timeout", leases: [] });
    expect(asked).toBe(0);
    expect(openFdsOn(drainLockFile(rd))).toBe(1);
    expect(readdirSync(rd)).not.toContain(`drain.${process.pid}.json`);
  });

  it("an abort behind another drain: aborted", async () => {
    const rd = makeRunDir();
    await otherDrain(rd);
    const ac = new AbortController();
    const r = await drainAndLock(rd, {
      waitMs: 20_000,
      what: "p",
      signal: ac.signal,
      onWait: () => ac.abort(),
    });
    expect(r).toMatchObject({ ok: false, why: "aborted", leases: [] });
    expect(openFdsOn(drainLockFile(rd))).toBe(1);
  });

  it("behind another drain: says whose, waits SHARED, asks again once it ended; not needed: stops there", async () => {
    const rd = makeRunDir();
    const other = await otherDrain(rd, "2000-01-01T00:00:00.000Z");
    const waits: unknown[] = [];
    const sharedWhileAsked: boolean[] = [];
    const r = await drainAndLock(rd, {
      waitMs: 10_000,
      what: "p",
      onWait: (w) => {
        waits.push(w);
        later(60, () => closeLockFile(other));
      },
      stillNeeded: async () => {
        // A run at the gate gets in together with this drainer (it holds drain.lock shared).
        sharedWhileAsked.push(await drainFree(rd, "shared"), await drainFree(rd, "exclusive"));
        return false;
      },
    });
    expect(waits).toEqual([{ for: "drain", drain: rec(OTHER, "2000-01-01T00:00:00.000Z", "the other") }]);
    expect(sharedWhileAsked).toEqual([true, false]);
    expect(r).toMatchObject({ ok: false, why: "not-needed", leases: [] });
    expect(r.waitedMs).toBeGreaterThanOrEqual(50);
    expect(await drainFree(rd, "exclusive")).toBe(true);
    expect(await free(rd, "exclusive")).toBe(true);
    expect(readdirSync(rd)).not.toContain(`drain.${process.pid}.json`);
  });

  it.each([
    ["still needed", async () => true],
    ["no stillNeeded given (needed by default)", undefined],
  ])("behind another drain, %s: drains itself once the other ended", async (_what, stillNeeded) => {
    const rd = makeRunDir();
    const other = await otherDrain(rd);
    const r = track(
      await drainAndLock(rd, {
        waitMs: 10_000,
        what: "p",
        onWait: () => later(30, () => closeLockFile(other)),
        ...(stillNeeded ? { stillNeeded } : {}),
      }),
    );
    expect(r.ok).toBe(true);
    expect(await drainFree(rd, "shared")).toBe(false);
    expect(await free(rd, "shared")).toBe(false);
  });

  it("behind another drain, its own drain gets a fresh waitMs", async () => {
    const rd = makeRunDir();
    const other = await otherDrain(rd);
    const waitMs = 900;
    const r = track(
      await drainAndLock(rd, {
        waitMs,
        what: "p",
        // The drain ahead lasts most of waitMs ...
        onWait: () => later(600, () => closeLockFile(other)),
        // ... and then a run at the gate holds drain.lock shared for most of it again: the wait to
        // convert to exclusive would time out on what was left of the first waitMs.
        stillNeeded: async () => {
          const gate = await holders.lock(rd, "shared", drainLockFile(rd));
          later(500, () => closeLockFile(gate));
          return true;
        },
      }),
    );
    expect(r.ok).toBe(true);
    expect(r.waitedMs).toBeGreaterThanOrEqual(1050);
  });
});
