// takeSharedLock (src/lease/shared.ts), the lock a run lease holds, against the real kernel: free
// or shared with other runs it is taken at once (waitedMs 0); while a prune holds lease.lock
// exclusively it waits up to waitMs, then either proceeds (the prune ended: waitedMs counts the
// wait) or throws LeaseTimeoutError naming the prune from exclusive.json; an abort signal ends the
// wait with undefined. Whatever the outcome, no descriptor is left open unless the lock is held.
import { describe, expect, it } from "vitest";
import { LeaseTimeoutError } from "../../../src/errors.js";
import { closeLockFile } from "../../../src/lease/flock.js";
import { exclusiveFile, lockFile } from "../../../src/lease/rundir.js";
import { takeSharedLock } from "../../../src/lease/shared.js";
import { free, later, makeRunDir, openFdsOn, leaseTestHooks } from "../../support/lease-fixture.js";

const t = leaseTestHooks();
const { holders } = t;

const HINT =
  "A prune removes images one at a time and never waits for runs, so a long hold means a slow `docker image rm` or a stuck prune: check the prune service's log and `imagekeeper status`. Raise --wait (config lease.wait) to wait longer.";

const pruneRecord = (pid: number, since: string) => ({ v: 1, pid, startTime: 1, bootId: "b", since });

async function timeoutOf(p: Promise<unknown>): Promise<LeaseTimeoutError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(LeaseTimeoutError);
  return e as LeaseTimeoutError;
}

describe("takeSharedLock", () => {
  it("free: taken at once, held shared by the returned descriptor until it is closed", async () => {
    const rd = makeRunDir();
    const lock = await takeSharedLock(rd, { waitMs: 1000, what: "imagekeeper run" });
    expect(lock?.waitedMs).toBe(0);
    expect(await free(rd, "exclusive")).toBe(false);
    expect(await free(rd, "shared")).toBe(true);
    expect(openFdsOn(lockFile(rd))).toBe(1);
    closeLockFile(lock!.fd);
    expect(await free(rd, "exclusive")).toBe(true);
  });

  it("another run's shared lock is no wait", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "shared");
    const lock = await takeSharedLock(rd, { waitMs: 0, what: "imagekeeper run" });
    expect(lock?.waitedMs).toBe(0);
    closeLockFile(lock!.fd);
  });

  it("a prune that outlasts waitMs: LeaseTimeoutError naming it from its record, descriptor closed", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive");
    await holders.record(exclusiveFile(rd), pruneRecord(4242, "2026-01-02T03:04:05.000Z"));
    const e = await timeoutOf(takeSharedLock(rd, { waitMs: 40, what: "imagekeeper run" }));
    expect(e.message).toBe(
      `imagekeeper run: a prune (pid 4242, since 2026-01-02T03:04:05.000Z) still held the lease lock in ${rd} after 40ms`,
    );
    expect(e.hint).toBe(HINT);
    expect(openFdsOn(lockFile(rd))).toBe(1); // only the test's own holder
  });

  it("without a readable record the prune is unnamed; waitMs 0 does not wait at all", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive");
    const t0 = performance.now();
    const e = await timeoutOf(takeSharedLock(rd, { waitMs: 0, what: "imagekeeper lease acquire" }));
    expect(e.message).toBe(`imagekeeper lease acquire: a prune still held the lease lock in ${rd} after 0ms`);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("waitMs 0 is one try: a prune that ends right after it is still a timeout", async () => {
    const rd = makeRunDir();
    const prune = await holders.lock(rd, "exclusive");
    t.log.when(/is in progress/, () => holders.close(prune)); // before any second try
    const e = await timeoutOf(takeSharedLock(rd, { waitMs: 0, what: "imagekeeper run" }));
    expect(e.message).toBe(`imagekeeper run: a prune still held the lease lock in ${rd} after 0ms`);
    expect(await free(rd, "exclusive")).toBe(true);
    expect(openFdsOn(lockFile(rd))).toBe(0);
  });

  it("a stale (unheld) prune record names nobody", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive");
    const h = await holders.record(exclusiveFile(rd), pruneRecord(4242, "2026-01-02T03:04:05.000Z"));
    holders.close(h.fd); // the prune was SIGKILLed; its record stays behind, unlocked
    const e = await timeoutOf(takeSharedLock(rd, { waitMs: 20, what: "imagekeeper run" }));
    expect(e.message).toBe(`imagekeeper run: a prune still held the lease lock in ${rd} after 20ms`);
  });

  it("the message names the prune seen at the end of the wait, else the one seen at its start", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive");
    // Named at the start only: its record goes during the wait (the lock stays held).
    const first = await holders.record(exclusiveFile(rd), pruneRecord(11, "2026-01-01T00:00:00.000Z"));
    t.log.when(/is in progress/, () => holders.close(first.fd));
    const a = await timeoutOf(takeSharedLock(rd, { waitMs: 60, what: "imagekeeper run" }));
    expect(a.message).toContain("a prune (pid 11, since 2026-01-01T00:00:00.000Z) still held");
    expect(t.log.events.map((e) => e.msg)).toContain(
      "imagekeeper run: a prune (pid 11, since 2026-01-01T00:00:00.000Z) is in progress; waiting up to 60ms",
    );
    // Named at the end only: its record appears during the wait.
    const rd2 = makeRunDir();
    await holders.lock(rd2, "exclusive");
    let added: Promise<unknown> = Promise.resolve();
    t.log.when(/is in progress/, () => {
      added = holders.record(exclusiveFile(rd2), pruneRecord(22, "2026-01-01T00:00:01.000Z"));
    });
    const b = await timeoutOf(takeSharedLock(rd2, { waitMs: 300, what: "imagekeeper run" }));
    await added;
    expect(b.message).toContain("a prune (pid 22, since 2026-01-01T00:00:01.000Z) still held");
    expect(t.log.events.map((e) => e.msg)).toContain(
      "imagekeeper run: a prune is in progress; waiting up to 300ms",
    );
  });

  it("a prune that ends within waitMs: the lock is taken, waitedMs counts the wait", async () => {
    const rd = makeRunDir();
    const prune = await holders.lock(rd, "exclusive");
    t.log.when(/is in progress/, () => later(60, () => holders.close(prune)));
    const lock = await takeSharedLock(rd, { waitMs: 5000, what: "imagekeeper run" });
    expect(lock!.waitedMs).toBeGreaterThanOrEqual(50);
    expect(lock!.waitedMs).toBeLessThan(5000);
    expect(t.log.events.map((e) => e.msg)).toContain("imagekeeper run: the prune finished; proceeding");
    expect(await free(rd, "exclusive")).toBe(false);
    closeLockFile(lock!.fd);
    expect(await free(rd, "exclusive")).toBe(true);
  });

  it("an aborted signal: undefined at once, nothing held, nothing left open", async () => {
    const rd = makeRunDir();
    const ac = new AbortController();
    ac.abort();
    expect(await takeSharedLock(rd, { waitMs: 1000, what: "x", signal: ac.signal })).toBeUndefined();
    expect(openFdsOn(lockFile(rd))).toBe(0);
    expect(await free(rd, "exclusive")).toBe(true);
    // Even while a prune holds the lock, and with no wait allowed: aborted is no timeout.
    await holders.lock(rd, "exclusive");
    expect(await takeSharedLock(rd, { waitMs: 0, what: "x", signal: ac.signal })).toBeUndefined();
    expect(t.log.events.map((e) => e.msg).filter((m) => m.includes("in progress"))).toEqual([]);
  });

  it("an abort during the wait for a prune: undefined, long before waitMs", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive");
    const ac = new AbortController();
    t.log.when(/is in progress/, () => ac.abort());
    const t0 = performance.now();
    expect(await takeSharedLock(rd, { waitMs: 20_000, what: "x", signal: ac.signal })).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(openFdsOn(lockFile(rd))).toBe(1);
  });
});
