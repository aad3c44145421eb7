// startRunLease (src/lease/run-lease.ts), the lease `imagekeeper run` holds for its command, against
// the real kernel: lease.lock shared through our own descriptor, then a record naming this process
// (kind "run", the command as described, since now, no expiry), both until release(); release is
// idempotent (a second call must not close descriptors the numbers of which were reused since);
// a prune outlasting waitMs is a LeaseTimeoutError naming `imagekeeper run`; an abort takes nothing.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LeaseTimeoutError, ToolError } from "../../../src/errors.js";
import { listLeases } from "../../../src/lease/lease.js";
import { readLeaseFile } from "../../../src/lease/metadata.js";
import { identify } from "../../../src/lease/proc.js";
import { leaseFile, lockFile } from "../../../src/lease/rundir.js";
import { startRunLease } from "../../../src/lease/run-lease.js";
import { asRoot, foreignProc, removeCaller, runCaller } from "../../support/lease-child.js";
import { free, later, makeRunDir, openFdsOn, leaseTestHooks } from "../../support/lease-fixture.js";

const t = leaseTestHooks();
const { holders } = t;

afterAll(removeCaller);

describe("startRunLease", () => {
  it("holds lease.lock shared and a record naming this process, until release", async () => {
    const rd = makeRunDir();
    const t0 = Date.now();
    const lease = await startRunLease(rd, { command: ["sh", "-c", "echo hi"], waitMs: 1000 });
    const t1 = Date.now();
    expect(lease!.id).toMatch(/^run-[0-9a-f]{12}$/);
    expect(lease!.waitedMs).toBe(0);
    const rec = JSON.parse(readFileSync(leaseFile(rd, lease!.id), "utf8")) as Record<string, unknown>;
    const me = identify(process.pid)!;
    expect(rec).toEqual({
      v: 1,
      id: lease!.id,
      kind: "run",
      pid: process.pid,
      startTime: me.startTime,
      bootId: me.bootId,
      command: 'sh -c "echo hi"',
      since: expect.any(String),
    });
    const since = Date.parse(rec.since as string);
    expect(since).toBeGreaterThanOrEqual(t0);
    expect(since).toBeLessThanOrEqual(t1);
    expect((await readLeaseFile(rd, lease!.id))?.held).toBe(true);
    expect((await listLeases(rd)).map((l) => [l.id, l.kind, l.pid])).toEqual([
      [lease!.id, "run", process.pid],
    ]);
    expect(await free(rd, "exclusive")).toBe(false);
    expect(await free(rd, "shared")).toBe(true);
    // Nothing but the record (no temp file left behind) beside the lock.
    expect(readdirSync(rd).sort()).toEqual(["lease.lock", `lease.${lease!.id}.json`]);

    lease!.release();
    expect(existsSync(leaseFile(rd, lease!.id))).toBe(false);
    expect(await free(rd, "exclusive")).toBe(true);
    expect(openFdsOn(lockFile(rd))).toBe(0);
  });

  it("release is idempotent: a second call closes nothing that was opened since", async () => {
    const rd = makeRunDir();
    const lease = await startRunLease(rd, { command: ["true"], waitMs: 0 });
    lease!.release();
    // These reuse the descriptor numbers the lease just closed (the kernel hands out the lowest).
    await holders.lock(rd, "shared");
    const other = await holders.record(leaseFile(rd, "other"), { v: 1 });
    lease!.release();
    expect(await free(rd, "exclusive")).toBe(false);
    expect((await readLeaseFile(rd, "other"))?.held).toBe(true);
    expect(existsSync(other.file)).toBe(true);
  });

  it("two runs hold their leases side by side; one's release leaves the other's", async () => {
    const rd = makeRunDir();
    const a = await startRunLease(rd, { command: ["a"], waitMs: 0 });
    const b = await startRunLease(rd, { command: ["b"], waitMs: 0 });
    expect(a!.id).not.toBe(b!.id);
    a!.release();
    expect((await listLeases(rd)).map((l) => l.command)).toEqual(["b"]);
    expect(await free(rd, "exclusive")).toBe(false);
    b!.release();
    expect(await free(rd, "exclusive")).toBe(true);
  });

  it("a prune outlasting waitMs: LeaseTimeoutError for `imagekeeper run`, no record, no descriptor", async () => {
    const rd = makeRunDir();
    await holders.lock(rd, "exclusive");
    const e = await startRunLease(rd, { command: ["true"], waitMs: 20 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LeaseTimeoutError);
    expect((e as Error).message).toBe(
      `imagekeeper run: a prune still held the lease lock in ${rd} after 20ms`,
    );
    expect(readdirSync(rd)).toEqual(["lease.lock"]);
    expect(openFdsOn(lockFile(rd))).toBe(1); // the test's prune
  });

  it("behind a prune that ends within waitMs: the lease, with the wait counted", async () => {
    const rd = makeRunDir();
    const prune = await holders.lock(rd, "exclusive");
    t.log.when(/imagekeeper run: a prune is in progress/, () => later(60, () => holders.close(prune)));
    const lease = await startRunLease(rd, { command: ["true"], waitMs: 10_000 });
    expect(lease!.waitedMs).toBeGreaterThanOrEqual(50);
    expect(lease!.waitedMs).toBeLessThan(10_000);
    expect((await readLeaseFile(rd, lease!.id))?.held).toBe(true);
    lease!.release();
  });

  it("an aborted signal: undefined, nothing taken", async () => {
    const rd = makeRunDir();
    const ac = new AbortController();
    ac.abort();
    expect(await startRunLease(rd, { command: ["true"], waitMs: 1000, signal: ac.signal })).toBeUndefined();
    expect(readdirSync(rd)).toEqual(["lease.lock"]);
    expect(await free(rd, "exclusive")).toBe(true);
  });
});

// Failures after the lock is taken, which no process of the test runner's own meets on its own.
describe.skipIf(!asRoot)("startRunLease when the record cannot be written (runs as root)", () => {
  it("a /proc that does not show this process: a ToolError, no record, the lock dropped", async () => {
    // The code under test in a child whose /proc belongs to another PID namespace
    // (test/support/lease-child.ts); it lists the run dir only when it got a lease.
    const rd = makeRunDir();
    const ns = await foreignProc();
    try {
      expect(await runCaller(ns.prefix, "run-lease", { runDir: rd })).toEqual({
        error: { name: "ToolError", message: "cannot read /proc/self/stat" },
      });
    } finally {
      ns.stop();
    }
    expect(readdirSync(rd)).toEqual(["lease.lock"]);
    expect(await free(rd, "exclusive")).toBe(true);
  }, 30_000);

  it("a record that cannot be published: that ToolError, both descriptors closed", async () => {
    // The run dir turns immutable (chattr +i) while the record is being prepared, at its flock:
    // the rename into place is refused. The lease's flock is the first exec, the record's the second.
    const rd = makeRunDir();
    t.log.when(/^exec$/, () => t.log.when(/^exec$/, () => execFileSync("chattr", ["+i", rd])));
    try {
      const e = await startRunLease(rd, { command: ["true"], waitMs: 0 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ToolError);
      const tmp = readdirSync(rd).filter((f) => f !== "lease.lock");
      expect(tmp).toEqual([
        expect.stringMatching(/^\.lease\.run-[0-9a-f]{12}\.json\.\d+\.[0-9a-f]{8}\.tmp$/),
      ]);
      const file = path.join(rd, tmp[0]!.slice(1).replace(/\.\d+\.[0-9a-f]{8}\.tmp$/, ""));
      expect((e as ToolError).message).toBe(
        `cannot publish the lease record ${file}: EPERM: operation not permitted, rename '${path.join(rd, tmp[0]!)}' -> '${file}'`,
      );
      expect(openFdsOn(lockFile(rd))).toBe(0);
      expect(openFdsOn(path.join(rd, tmp[0]!))).toBe(0);
    } finally {
      execFileSync("chattr", ["-i", rd]);
    }
  });
});
