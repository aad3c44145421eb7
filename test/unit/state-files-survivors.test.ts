// What mutation testing found unpinned in the small state files (issue 12): the quota file's
// round trip (its name, its schema, nothing written for no records, a damaged file reported), the
// file lock's edges (an owner alive but not ours to signal, a non-integer or negative pid, the
// stale and deadline boundaries, with the clock held still), and a failed write in
// writeFileAtomic leaving the target alone.
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { writeFileAtomic } from "../../src/state/atomic.js";
import { withFileLock } from "../../src/state/lockfile.js";
import {
  applyQuotaRecords,
  emptyQuotaState,
  type QuotaRecord,
  readQuotaState,
  recordQuotas,
} from "../../src/state/quota.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "ik-state2-"));

afterEach(() => {
  vi.restoreAllMocks();
});

const rec = (at: number, remaining: number): QuotaRecord => ({
  at,
  endpoint: "registry-1.docker.io",
  limit: 100,
  remaining,
  windowSeconds: 21600,
  resetBy: null,
  source: "203.0.113.7",
  pulledAfter: 3,
});

describe("the quota file", () => {
  it("is STATE_DIR/quota.json, read back exactly as recorded", async () => {
    const dir = path.join(tmp(), "state");
    expect(await recordQuotas(dir, { "docker.io": rec(1000, 42) })).toEqual({});
    expect(existsSync(path.join(dir, "quota.json"))).toBe(true);
    expect(readdirSync(dir)).toEqual(["quota.json"]);
    expect(readQuotaState(dir)).toEqual({
      state: { version: 1, registries: { "docker.io": rec(1000, 42) } },
    });
    expect(JSON.parse(readFileSync(path.join(dir, "quota.json"), "utf8"))).toEqual({
      version: 1,
      registries: { "docker.io": rec(1000, 42) },
    });
  });

  it("no records: nothing written, not even the state dir", async () => {
    const dir = path.join(tmp(), "state");
    expect(await recordQuotas(dir, {})).toEqual({});
    expect(existsSync(dir)).toBe(false);
  });

  it("a damaged file is reported and replaced", async () => {
    const dir = tmp();
    const file = path.join(dir, "quota.json");
    writeFileSync(file, "{ torn");
    const r = await recordQuotas(dir, { "docker.io": rec(1000, 42) });
    expect(r.problem).toMatch(new RegExp(`^${file} is not valid JSON \\(`));
    expect(readQuotaState(dir)).toEqual({
      state: { version: 1, registries: { "docker.io": rec(1000, 42) } },
    });
  });

  it("a later answer at the same instant replaces the earlier one", () => {
    const s = applyQuotaRecords(emptyQuotaState(), { "docker.io": rec(1000, 42) });
    expect(applyQuotaRecords(s, { "docker.io": rec(1000, 41) }).registries["docker.io"]!.remaining).toBe(41);
  });
});

describe("withFileLock, edges", () => {
  it("an owner alive but not ours to signal (EPERM) is alive: its lock is not broken", async () => {
    const lock = path.join(tmp(), "x.lock");
    writeFileSync(lock, "4000000\n");
    const kill = process.kill.bind(process);
    vi.spyOn(process, "kill").mockImplementation((pid, sig) => {
      if (pid === 4000000) throw Object.assign(new Error("kill EPERM"), { code: "EPERM" });
      return kill(pid, sig);
    });
    await expect(withFileLock(lock, () => "mine", { timeoutMs: 60, staleMs: 60_000 })).rejects.toThrow(
      `could not lock ${lock} within 60 ms`,
    );
    expect(existsSync(lock)).toBe(true);
  });

  it.each(["1.5", "-4000000"])("a pid %s names no process: only age makes the lock stale", async (pid) => {
    const lock = path.join(tmp(), "x.lock");
    writeFileSync(lock, `${pid}\n`);
    await expect(withFileLock(lock, () => "mine", { timeoutMs: 60, staleMs: 60_000 })).rejects.toThrow(
      `could not lock ${lock} within 60 ms`,
    );
    expect(readFileSync(lock, "utf8")).toBe(`${pid}\n`);
  });

  it("a lock exactly staleMs old is not stale yet", async () => {
    const lock = path.join(tmp(), "x.lock");
    writeFileSync(lock, `${process.pid}\n`);
    const X = Math.floor(Date.now() / 1000) * 1000;
    utimesSync(lock, (X - 30_000) / 1000, (X - 30_000) / 1000);
    // deadline, the first check, tryBreakStale at X; after that the clock has moved on.
    let calls = 0;
    vi.spyOn(Date, "now").mockImplementation(() => (++calls <= 3 ? X : X + 1000));
    await expect(withFileLock(lock, () => "mine", { timeoutMs: 0, staleMs: 30_000 })).rejects.toThrow(
      `could not lock ${lock} within 0 ms`,
    );
    expect(existsSync(lock)).toBe(true);
  });

  it("at the deadline exactly it still tries (and breaks a dead owner's lock)", async () => {
    const lock = path.join(tmp(), "x.lock");
    writeFileSync(lock, "4000000\n");
    const X = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(X);
    expect(await withFileLock(lock, () => "mine", { timeoutMs: 0, staleMs: 60_000 })).toBe("mine");
  });
});

describe("writeFileAtomic, a failed write", () => {
  it("throws, leaves the target as it was and removes the temp file", () => {
    const d = tmp();
    const f = path.join(d, "out.json");
    writeFileSync(f, "old");
    expect(() => writeFileAtomic(f, Symbol("not data") as unknown as string)).toThrow(
      'The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type symbol (Symbol(not data))',
    );
    expect(readFileSync(f, "utf8")).toBe("old");
    expect(readdirSync(d)).toEqual(["out.json"]);
  });
});
