// The prune's side of lease.lock (src/lease/lease.ts) against the real kernel: tryExclusive gets the
// lock only while no run holds it shared and no other prune holds it (then it lists the live leases
// instead), waits up to waitMs when asked, publishes exclusive.json naming this process while it
// holds the lock, and release() (idempotent) drops both; listLeases lists held records, oldest
// first, with expiresAt for acquired leases only.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { listLeases, tryExclusive } from "../../../src/lease/lease.js";
import { identify } from "../../../src/lease/proc.js";
import { exclusiveFile, leaseFile, lockFile } from "../../../src/lease/rundir.js";
import { startRunLease } from "../../../src/lease/run-lease.js";
import { asRoot, foreignProc, removeCaller, runCaller } from "../../support/lease-child.js";
import { free, later, makeRunDir, openFdsOn, leaseTestHooks } from "../../support/lease-fixture.js";

const t = leaseTestHooks();
const { holders } = t;

const record = (id: string, since: string, kind: "run" | "acquired" = "run") => ({
  v: 1,
  id,
  kind,
  pid: 4242,
  startTime: 1,
  bootId: "b",
  command: `cmd ${id}`,
  since,
  ...(kind === "acquired" ? { expiresAt: "2026-01-02T00:00:00.000Z" } : {}),
});

afterAll(removeCaller);

describe("tryExclusive", () => {
  it("free: the lock, and exclusive.json naming this process, until release (idempotent)", async () => {
    const rd = makeRunDir();
    const t0 = Date.now();
    const r = await tryExclusive(rd);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(await free(rd, "shared")).toBe(false);
    const rec = JSON.parse(readFileSync(exclusiveFile(rd), "utf8")) as Record<string, unknown>;
    expect(rec).toEqual({ v: 1, ...identify(process.pid), since: expect.any(String) });
    expect(Date.parse(rec.since as string)).toBeGreaterThanOrEqual(t0);
    await r.lock.release();
    expect(existsSync(exclusiveFile(rd))).toBe(false);
    expect(await free(rd, "exclusive")).toBe(true);
    await holders.lock(rd, "shared"); // reuses the closed descriptor's number
    await r.lock.release();
    expect(await free(rd, "exclusive")).toBe(false);
  });

  it("while a run holds its lease: refused, with that lease", async () => {
    const rd = makeRunDir();
    const run = await startRunLease(rd, { command: ["make"], waitMs: 0 });
    const r = await tryExclusive(rd);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.leases.map((l) => [l.id, l.kind, l.pid, l.command])).toEqual([
      [run!.id, "run", process.pid, "make"],
    ]);
    run!.release();
  });

  it("while another prune holds it: refused, no leases", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive");
    expect(await tryExclusive(rd)).toEqual({ ok: false, leases: [] });
    expect(existsSync(exclusiveFile(rd))).toBe(false);
  });

  it("with waitMs: gets the lock once the run ends within it", async () => {
    const rd = makeRunDir();
    const run = await holders.lock(rd, "shared");
    later(60, () => holders.close(run));
    const r = await tryExclusive(rd, { waitMs: 10_000 });
    expect(r.ok).toBe(true);
    if (r.ok) await r.lock.release();
  });
});

// exclusive.json only says who holds the lock: when it cannot be written the prune still gets the
// lock, with a warning, and nothing of the attempt is left behind.
describe("tryExclusive without its record", () => {
  it("exclusive.json cannot be published (a directory is in its place): the lock all the same, a warning, no temp file", async () => {
    const rd = makeRunDir();
    mkdirSync(exclusiveFile(rd));
    const r = await tryExclusive(rd);
    expect(r.ok).toBe(true);
    expect(await free(rd, "shared")).toBe(false);
    expect(readdirSync(rd).sort()).toEqual(["exclusive.json", "lease.lock"]);
    expect(t.log.events.filter((e) => e.level === 40).map((e) => e.msg)).toEqual([
      "could not write the prune's lock record",
    ]);
    if (r.ok) await r.lock.release();
    expect(await free(rd, "exclusive")).toBe(true);
    expect(openFdsOn(lockFile(rd))).toBe(0);
  });

  it.skipIf(!asRoot)(
    "a /proc that does not show this process (runs as root): the lock, no record",
    async () => {
      // The code under test in a child whose /proc belongs to another PID namespace
      // (test/support/lease-child.ts); it lists the run dir while it holds the lock.
      const rd = makeRunDir();
      const ns = await foreignProc();
      try {
        expect(await runCaller(ns.prefix, "exclusive", { runDir: rd })).toEqual({
          ok: { ok: true, files: ["lease.lock"] },
        });
      } finally {
        ns.stop();
      }
    },
    30_000,
  );
});

describe("listLeases", () => {
  it("held records only, oldest first, expiresAt for acquired leases only", async () => {
    const rd = makeRunDir();
    await holders.record(leaseFile(rd, "a"), record("a", "2026-01-01T00:00:03.000Z"));
    await holders.record(leaseFile(rd, "b"), record("b", "2026-01-01T00:00:01.000Z", "acquired"));
    await holders.record(leaseFile(rd, "c"), record("c", "2026-01-01T00:00:02.000Z"));
    const stale = await holders.record(leaseFile(rd, "d"), record("d", "2026-01-01T00:00:00.000Z"));
    holders.close(stale.fd);
    expect(await listLeases(rd)).toEqual([
      {
        id: "b",
        pid: 4242,
        command: "cmd b",
        since: "2026-01-01T00:00:01.000Z",
        kind: "acquired",
        expiresAt: "2026-01-02T00:00:00.000Z",
      },
      { id: "c", pid: 4242, command: "cmd c", since: "2026-01-01T00:00:02.000Z", kind: "run" },
      { id: "a", pid: 4242, command: "cmd a", since: "2026-01-01T00:00:03.000Z", kind: "run" },
    ]);
    expect(Object.keys((await listLeases(rd))[1]!)).not.toContain("expiresAt");
  });
});
