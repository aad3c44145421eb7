// The prune's side of lease.lock (src/lease/lease.ts) against the real kernel: tryExclusive gets the
// lock only while no run holds it shared and no other prune holds it (then it lists the live leases
// instead), waits up to waitMs when asked, publishes exclusive.json naming this process while it
// holds the lock, and release() (idempotent) drops both; listLeases lists held records, oldest
// first, with expiresAt for acquired leases only.
import { existsSync, readFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { listLeases, tryExclusive } from "../../../src/lease/lease.js";
import { identify } from "../../../src/lease/proc.js";
import { exclusiveFile, leaseFile } from "../../../src/lease/rundir.js";
import { startRunLease } from "../../../src/lease/run-lease.js";
import { free, Holders, later, makeRunDir, removeRunDirs } from "../../support/lease-fixture.js";

const holders = new Holders();
afterEach(() => holders.closeAll());

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

afterAll(removeRunDirs);

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
