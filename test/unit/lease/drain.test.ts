// The drainers' side of the drain (src/lease/drain.ts; the runs' side, the gate, is in
// drain-gate.test.ts) against the real kernel, drainers and runs played by descriptors of this
// process (flock(2) locks belong to open file descriptions, so each is its own holder).
// drainAndLock: drain.lock exclusive, then lease.lock exclusive within waitMs (what it waited for,
// the timeout, abort); behind another drain: drain.lock SHARED (runs at the gate get in with it),
// then stillNeeded ("not-needed" when room was made), then its own drain with a fresh waitMs, the
// first bound counting from the start; releasing frees both locks and removes its records.
// Also pinned (mutation testing, issue 12): waitedMs counts from the start (never more than the
// call took), a signal aborted before the first try, its own drain timing out behind a run at the
// gate that took drain.lock first, and a drain record that cannot be written (said, the temp file
// removed, the drain goes on without it).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type DrainResult,
  drainAndLock,
  drainLockFile,
  drainRecordFile,
  enterGate,
  liveDrainRecord,
} from "../../../src/lease/drain.js";
import { identify } from "../../../src/lease/proc.js";
import { startRunLease } from "../../../src/lease/run-lease.js";
import {
  free,
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

const otherDrain = (rd: string, since?: string) => otherDrainIn(holders, rd, since);

function track(r: DrainResult): DrainResult {
  if (r.ok) cleanups.push(() => r.lock.release());
  return r;
}

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

  it("waitedMs is the time the call took, counted from its start", async () => {
    const rd = makeRunDir();
    const run = await startRunLease(rd, { command: ["sleep"], waitMs: 0 });
    cleanups.push(() => run!.release());
    const t0 = performance.now();
    const r = await drainAndLock(rd, { waitMs: 40, what: "p" });
    const took = performance.now() - t0;
    expect(r).toMatchObject({ ok: false, why: "timeout" });
    expect(r.waitedMs).toBeGreaterThanOrEqual(30);
    expect(r.waitedMs).toBeLessThanOrEqual(Math.ceil(took));
  });

  it("a signal aborted before it starts: aborted, no leases, nothing of the drain left", async () => {
    const rd = makeRunDir();
    const ac = new AbortController();
    ac.abort();
    const r = await drainAndLock(rd, { waitMs: 10_000, what: "p", signal: ac.signal });
    expect(r).toMatchObject({ ok: false, why: "aborted", leases: [] });
    expect(await drainFree(rd, "exclusive")).toBe(true);
    expect(await free(rd, "exclusive")).toBe(true);
    expect(openFdsOn(drainLockFile(rd))).toBe(0);
    expect(readdirSync(rd).sort()).toEqual(["drain.lock", "lease.lock"]);
  });

  it("a drain record that cannot be written: said, no temp file left, the drain goes on without it", async () => {
    const rd = makeRunDir();
    // A directory in the record's place makes the rename fail.
    mkdirSync(drainRecordFile(rd, process.pid));
    writeFileSync(`${drainRecordFile(rd, process.pid)}/x`, "");
    const r = track(await drainAndLock(rd, { waitMs: 1000, what: "p" }));
    expect(r.ok).toBe(true);
    expect(t.log.events.filter((e) => e.level === 40).map((e) => e.msg)).toEqual([
      "could not write the drain's record",
    ]);
    expect(readdirSync(rd).sort()).toEqual([
      `drain.${process.pid}.json`,
      "drain.lock",
      "exclusive.json",
      "lease.lock",
    ]);
    expect(openFdsOn(drainRecordFile(rd, process.pid))).toBe(0);
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

  it("behind another drain, the bound counts from the start: time spent before the wait is spent", async () => {
    const rd = makeRunDir();
    const other = await otherDrain(rd);
    let ended = Promise.resolve();
    const r = track(
      await drainAndLock(rd, {
        waitMs: 600,
        what: "p",
        onWait: () => {
          // 500 ms of the 600 pass before the wait behind the other drain begins; that drain ends
          // 800 ms later, long after what was left.
          const until = performance.now() + 500;
          while (performance.now() < until);
          ended = new Promise((done) => later(800, () => done(holders.close(other))));
        },
      }),
    );
    expect(r).toMatchObject({ ok: false, why: "timeout" });
    await ended;
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
        later(60, () => holders.close(other));
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
        onWait: () => later(30, () => holders.close(other)),
        ...(stillNeeded ? { stillNeeded } : {}),
      }),
    );
    expect(r.ok).toBe(true);
    expect(await drainFree(rd, "shared")).toBe(false);
    expect(await free(rd, "shared")).toBe(false);
  });

  it("behind another drain, still needed, then a run at the gate outlasts what is left: timeout, nothing held", async () => {
    const rd = makeRunDir();
    const other = await otherDrain(rd);
    let gate: number | undefined;
    const r = await drainAndLock(rd, {
      waitMs: 300,
      what: "p",
      onWait: () => holders.close(other),
      // A run at the gate takes drain.lock shared before this drainer converts to exclusive, and
      // keeps it past the (fresh) 300 ms.
      stillNeeded: async () => {
        gate = await holders.lock(rd, "shared", drainLockFile(rd));
        return true;
      },
    });
    expect(r).toMatchObject({ ok: false, why: "timeout", leases: [] });
    expect(r.waitedMs).toBeGreaterThanOrEqual(250);
    expect(gate).toBeDefined();
    expect(openFdsOn(drainLockFile(rd))).toBe(1); // the gate's
    expect(await free(rd, "exclusive")).toBe(true);
    expect(readdirSync(rd)).not.toContain(`drain.${process.pid}.json`);
  });

  it("behind another drain, its own drain gets a fresh waitMs", async () => {
    const rd = makeRunDir();
    const other = await otherDrain(rd);
    let gateLeft = Promise.resolve();
    const r = track(
      await drainAndLock(rd, {
        waitMs: 1500,
        what: "p",
        onWait: () => {
          // 1100 ms of the first 1500 pass behind the drain ahead, which then ends.
          const until = performance.now() + 1100;
          while (performance.now() < until);
          holders.close(other);
        },
        // Then a run at the gate holds drain.lock shared for 700 ms: more than what was left of
        // the first bound, well within a fresh one.
        stillNeeded: async () => {
          const gate = await holders.lock(rd, "shared", drainLockFile(rd));
          gateLeft = new Promise((done) => later(700, () => done(holders.close(gate))));
          return true;
        },
      }),
    );
    await gateLeft;
    expect(r.ok).toBe(true);
    expect(r.waitedMs).toBeGreaterThanOrEqual(1750);
  });
});
