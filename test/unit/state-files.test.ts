// The small state files: reading (missing = empty, damaged = empty plus a problem), replacing
// atomically with an exact mode, the short-lived file lock (stale and dead-owner locks broken, live
// ones waited for), and the last-prune record.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/state/atomic.js";
import {
  applyPruneRecord,
  emptyPruneState,
  type PruneRecord,
  readPruneState,
  recordPrune,
} from "../../src/state/last-prune.js";
import { withFileLock } from "../../src/state/lockfile.js";
import { readStateFile } from "../../src/state/stateFile.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "ik-state-"));
const mode = (f: string) => statSync(f).mode & 0o7777;

describe("readStateFile", () => {
  const schema = z.object({ n: z.number() });
  const empty = () => ({ n: 0 });
  it("missing: the empty state, no problem", () => {
    expect(readStateFile(path.join(tmp(), "none.json"), schema, empty)).toEqual({ value: { n: 0 } });
  });
  it("valid: its value", () => {
    const f = path.join(tmp(), "s.json");
    writeFileSync(f, '{"n": 7}');
    expect(readStateFile(f, schema, empty)).toEqual({ value: { n: 7 } });
  });
  it.each([
    ["not JSON", "{n:", /^(\S+) is not valid JSON \(.+\)$/],
    ["the wrong shape", '{"n": "seven"}', /^(\S+) does not match its schema: .*expected number/],
  ])("%s: the empty state and a problem naming the file", (_n, text, problem) => {
    const f = path.join(tmp(), "s.json");
    writeFileSync(f, text);
    const r = readStateFile(f, schema, empty);
    expect(r.value).toEqual({ n: 0 });
    expect(r.problem).toMatch(problem);
    expect(r.problem!.startsWith(f)).toBe(true);
  });
  it("unreadable: the empty state and a problem", () => {
    const d = tmp();
    const r = readStateFile(d, schema, empty);
    expect(r.value).toEqual({ n: 0 });
    expect(r.problem).toMatch(new RegExp(`^cannot read ${d}: EISDIR`));
  });
});

describe("writeFileAtomic", () => {
  it.each([0o600, 0o664, 0o644])("writes the data with exactly mode %s, whatever the umask", (m) => {
    const f = path.join(tmp(), "out.json");
    writeFileAtomic(f, "hello\n", m);
    expect(readFileSync(f, "utf8")).toBe("hello\n");
    expect(mode(f)).toBe(m);
  });
  it("default mode 0644; replaces an existing file; leaves no temp file", () => {
    const d = tmp();
    const f = path.join(d, "out.json");
    writeFileSync(f, "old");
    writeFileAtomic(f, "new", undefined, { fsync: false });
    expect(readFileSync(f, "utf8")).toBe("new");
    expect(mode(f)).toBe(0o644);
    expect(readdirSync(d)).toEqual(["out.json"]);
  });
  it("a failed rename leaves the target alone and removes the temp file", () => {
    const d = tmp();
    const target = path.join(d, "dir");
    mkdirSync(path.join(target, "x"), { recursive: true });
    expect(() => writeFileAtomic(target, "data")).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(d)).toEqual(["dir"]);
  });
});

describe("withFileLock", () => {
  it("runs the function under the lock and removes it after, returning its value", async () => {
    const lock = path.join(tmp(), "x.lock");
    const r = await withFileLock(lock, () => {
      expect(readFileSync(lock, "utf8")).toBe(`${process.pid}\n`);
      return 42;
    });
    expect(r).toBe(42);
    expect(existsSync(lock)).toBe(false);
  });
  it("removes the lock when the function throws", async () => {
    const lock = path.join(tmp(), "x.lock");
    await expect(
      withFileLock(lock, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(existsSync(lock)).toBe(false);
  });
  it("waits for a live owner's fresh lock, then gives up naming it", async () => {
    const lock = path.join(tmp(), "x.lock");
    writeFileSync(lock, `${process.pid}\n`);
    let ran = false;
    await expect(
      withFileLock(
        lock,
        () => {
          ran = true;
        },
        { timeoutMs: 60, staleMs: 60_000 },
      ),
    ).rejects.toThrow(`could not lock ${lock} within 60 ms`);
    expect(ran).toBe(false);
    expect(existsSync(lock)).toBe(true);
  });
  it("breaks a lock whose owner is dead", async () => {
    const lock = path.join(tmp(), "x.lock");
    const dead = spawnSync("true").pid;
    writeFileSync(lock, `${dead}\n`);
    expect(await withFileLock(lock, () => "mine", { timeoutMs: 5_000, staleMs: 60_000 })).toBe("mine");
  });
  it("breaks a lock older than staleMs, even one without a pid", async () => {
    const lock = path.join(tmp(), "x.lock");
    writeFileSync(lock, "");
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(lock, old, old);
    expect(await withFileLock(lock, () => "mine", { timeoutMs: 5_000, staleMs: 60_000 })).toBe("mine");
  });
  it("a fresh lock without a pid is being created: not broken", async () => {
    const lock = path.join(tmp(), "x.lock");
    writeFileSync(lock, "");
    await expect(withFileLock(lock, () => "mine", { timeoutMs: 60, staleMs: 60_000 })).rejects.toThrow(
      /could not lock/,
    );
  });
  it("another error than EEXIST is thrown at once", async () => {
    await expect(withFileLock(path.join(tmp(), "no", "such", "x.lock"), () => 1)).rejects.toThrow(/ENOENT/);
  });
});

describe("last prune", () => {
  const rec = (outcome: PruneRecord["outcome"], at = "2025-03-01T12:00:00.000Z"): PruneRecord => ({
    at,
    outcome,
    reason: "r",
    before: { usedPercent: 90, freeBytes: 100 },
    after: { usedPercent: 60, freeBytes: 400 },
    bytesFreed: 300,
    imagesRemoved: 2,
  });
  it.each([
    ["pruned", true, 0],
    ["insufficient", true, 0],
    ["no-pressure", false, 0],
    ["outside-window", false, 0],
    ["deferred", false, 3],
  ] as const)("%s: completes %s, deferrals %i", (outcome, completes, deferrals) => {
    const before = {
      ...emptyPruneState(),
      lastCompleted: rec("pruned", "2025-01-01T00:00:00.000Z"),
      consecutiveDeferrals: 2,
    };
    const after = applyPruneRecord(before, rec(outcome));
    expect(after.last).toEqual(rec(outcome));
    expect(after.lastCompleted).toEqual(completes ? rec(outcome) : before.lastCompleted);
    expect(after.consecutiveDeferrals).toBe(deferrals);
    expect(after.version).toBe(1);
  });
  it("recordPrune writes a group-writable file that reads back; a damaged one is reported and replaced", async () => {
    const d = tmp();
    expect(readPruneState(d)).toEqual({
      state: { version: 1, last: null, lastCompleted: null, consecutiveDeferrals: 0 },
    });
    expect(await recordPrune(d, rec("deferred"))).toEqual({});
    expect(await recordPrune(d, rec("deferred"))).toEqual({});
    const f = path.join(d, "last-prune.json");
    expect(mode(f)).toBe(0o664);
    expect(readPruneState(d).state.consecutiveDeferrals).toBe(2);
    expect(existsSync(path.join(d, "last-prune.lock"))).toBe(false);
    writeFileSync(f, "garbage");
    const damaged = readPruneState(d);
    expect(damaged.state).toEqual(emptyPruneState());
    expect(damaged.problem).toMatch(/last-prune\.json is not valid JSON/);
    expect((await recordPrune(d, rec("pruned"))).problem).toMatch(/not valid JSON/);
    expect(readPruneState(d)).toEqual({
      state: { version: 1, last: rec("pruned"), lastCompleted: rec("pruned"), consecutiveDeferrals: 0 },
    });
  });
});
