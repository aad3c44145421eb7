// The runs' side of the drain (src/lease/drain.ts) against the real kernel, drainers and runs played
// by descriptors of this process (flock(2) locks belong to open file descriptions, so each is its
// own holder); the drainers' side is in drain.test.ts:
//   - drain records: which count (held, well-formed, named drain.<pid>.json; the oldest wins), and
//     that a stale one is removed on the way;
//   - callerHoldsLease: only a well-formed id whose record is held;
//   - the gate: no lock at all while no drain is announced; behind a drain, drain.lock shared for at
//     most waitMs, then in (passed) or ahead of it (passed: false); abort; leave() idempotent.
// Also pinned (mutation testing, issue 12): a tie between two drains' `since` (the first listed
// stays), a run dir that does not exist yet (no drain, nothing created), the drain lock's error
// text, a pre-aborted wait with waitMs 0, waitMs 0 never trying the lock a second time, and a
// failing flock closing the gate's descriptor.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  callerHoldsLease,
  drainLockFile,
  drainRecordFile,
  enterGate,
  LEASE_ENV,
  liveDrainRecord,
} from "../../../src/lease/drain.js";
import { ToolError } from "../../../src/errors.js";
import { leaseFile } from "../../../src/lease/rundir.js";
import { startRunLease } from "../../../src/lease/run-lease.js";
import {
  later,
  makeRunDir,
  openFdsOn,
  leaseTestHooks,
  OTHER_DRAINER,
  drainRec,
  drainFree,
  otherDrain as otherDrainIn,
} from "../../support/lease-fixture.js";

const t = leaseTestHooks();
const { holders, cleanups } = t;

const OTHER = OTHER_DRAINER;
const rec = drainRec;
const msgs = () => t.log.events.filter((e) => e.level >= 30).map((e) => e.msg); // info and up

const otherDrain = (rd: string, since?: string) => otherDrainIn(holders, rd, since);

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

  it("a tie in `since`: the first one listed stays (a later one must be strictly older)", async () => {
    const rd = makeRunDir();
    const same = "2026-01-01T00:00:01.000Z";
    await holders.record(drainRecordFile(rd, 1), rec(1, same));
    await holders.record(drainRecordFile(rd, 2), rec(2, same));
    // The directory's own order, as the run dir is read (it differs between filesystems).
    const first = readdirSync(rd).find((n) => /^drain\.[12]\.json$/.test(n));
    expect((await liveDrainRecord(rd))?.pid).toBe(first === "drain.1.json" ? 1 : 2);
  });

  it("a held one is returned whole", async () => {
    const rd = makeRunDir();
    await holders.record(drainRecordFile(rd, 7), rec(7, "2026-01-01T00:00:00.000Z"));
    expect(await liveDrainRecord(rd)).toEqual(rec(7, "2026-01-01T00:00:00.000Z"));
  });

  it("a stale one (its drainer SIGKILLed) is removed and counts for nothing", async () => {
    const rd = makeRunDir();
    const h = await holders.record(drainRecordFile(rd, 7), rec(7, "2026-01-01T00:00:00.000Z"));
    holders.close(h.fd);
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
    holders.close(h.fd);
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
    // A record left behind by a SIGKILLed run: present, but not held.
    const stale = await holders.record(leaseFile(rd, "job-1"), { v: 1 });
    holders.close(stale.fd);
    expect(await callerHoldsLease(rd, { IMAGEKEEPER_LEASE: "job-1" })).toBeUndefined();
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

  it("a run dir that does not exist yet: through at once, nothing created", async () => {
    const rd = path.join(makeRunDir(), "not-yet");
    const g = await enterGate(rd, { waitMs: 1000, what: "imagekeeper run" });
    expect(g).toMatchObject({ waitedMs: 0, passed: true });
    g!.leave();
    expect(existsSync(rd)).toBe(false);
  });

  it("a drain announced but drain.lock not a file: the error names the drain lock, nothing held", async () => {
    const rd = makeRunDir();
    await holders.record(drainRecordFile(rd, OTHER), rec(OTHER, "2026-01-01T00:00:00.000Z"));
    mkdirSync(drainLockFile(rd));
    const e = await enterGate(rd, { waitMs: 1000, what: "x" }).then(
      () => undefined,
      (x: unknown) => x as ToolError,
    );
    expect(e).toBeInstanceOf(ToolError);
    expect(e!.message).toBe(`cannot open the drain lock ${rd}/drain.lock: not a regular file`);
    expect(e!.hint).toBe(
      `The runner and the prune service must both be in the group that owns ${rd} (mode 3770); see docs/leases.md.`,
    );
  });

  it("flock failing while at the gate: the error, and the gate's descriptor closed", async () => {
    const rd = makeRunDir();
    await otherDrain(rd);
    const path0 = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(enterGate(rd, { waitMs: 1000, what: "x" })).rejects.toThrow(/^could not run flock: /);
    } finally {
      process.env.PATH = path0;
    }
    expect(openFdsOn(drainLockFile(rd))).toBe(1); // the other drain's
  });

  it("a stale record: through at once, the record removed, drain.lock held shared until leave()", async () => {
    const rd = makeRunDir();
    const h = await holders.record(drainRecordFile(rd, OTHER), rec(OTHER, "2026-01-01T00:00:00.000Z"));
    holders.close(h.fd);
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

  it("waitMs 0: ahead of it even when the drain ends right after the first try (no second try)", async () => {
    const rd = makeRunDir();
    const drain = await otherDrain(rd);
    // The drain ends between the gate's first (refused) try and what would be a second one.
    t.log.when(/waits behind it/, () => holders.close(drain));
    const g = await enterGate(rd, { waitMs: 0, what: "x" });
    expect(g).toMatchObject({ passed: false });
    expect(openFdsOn(drainLockFile(rd))).toBe(0);
    expect(msgs()[1]).toBe("x: the gap prune had not finished after 0ms; going ahead of it");
  });

  it("behind a drain that ends within waitMs: in, with the wait counted, drain.lock shared until leave()", async () => {
    const rd = makeRunDir();
    const drain = await otherDrain(rd);
    t.log.when(/waits behind it/, () => later(60, () => holders.close(drain)));
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
    // Aborted before the first try: undefined even with no wait allowed, and nothing said.
    expect(await enterGate(rd, { waitMs: 0, what: "x", signal: ac.signal })).toBeUndefined();
    expect(msgs()).toEqual([]);
    expect(openFdsOn(drainLockFile(rd))).toBe(1);
    const ac2 = new AbortController();
    t.log.when(/waits behind it/, () => ac2.abort());
    const t0 = performance.now();
    expect(await enterGate(rd, { waitMs: 20_000, what: "x", signal: ac2.signal })).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(openFdsOn(drainLockFile(rd))).toBe(1);
  });
});
