// /proc/[pid]/stat parsing and the identity rule, against lines captured from a real kernel
// (Debian 12, test/fixtures/proc-stat/): a plain process, one whose name holds spaces and
// parentheses, and a zombie.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isSameLiveProcess, type ProcStat, parseProcStat } from "../../../src/lease/proc.js";

const fixture = (name: string) =>
  readFileSync(path.join(import.meta.dirname, "../../fixtures/proc-stat", name), "utf8");

describe("parseProcStat", () => {
  it.each([
    ["sleep.txt", { pid: 11067, comm: "sleep", state: "S", ppid: 11020, startTime: 156732 }],
    ["paren-comm.txt", { pid: 11030, comm: "x) (y z)", state: "S", ppid: 11029, startTime: 156711 }],
    ["zombie.txt", { pid: 11082, comm: "sleep", state: "Z", ppid: 11080, startTime: 156743 }],
  ])("%s", (file, want) => {
    expect(parseProcStat(fixture(file))).toEqual(want);
  });

  it.each([
    ["empty", ""],
    ["no parentheses", "123 sleep S 1 2 3"],
    ["no pid", "(sleep) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100"],
    ["truncated before starttime", "123 (sleep) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0"],
    ["state not a letter", "123 (sleep) 7 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100"],
    ["starttime not a number", "123 (sleep) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 x"],
  ])("rejects %s", (_what, text) => {
    expect(parseProcStat(text)).toBeUndefined();
  });
});

describe("isSameLiveProcess", () => {
  const boot = "3546ff3f-23a2-4039-a591-c1682a320d0d";
  const rec = { pid: 11067, startTime: 156732, bootId: boot };
  const st = (over: Partial<ProcStat> = {}): ProcStat => ({
    pid: 11067,
    comm: "sleep",
    state: "S",
    ppid: 1,
    startTime: 156732,
    ...over,
  });
  it.each([
    ["the same process", st(), boot, true],
    ["running", st({ state: "R" }), boot, true],
    ["gone", undefined, boot, false],
    ["a zombie (its locks are already released)", st({ state: "Z" }), boot, false],
    ["dead (X)", st({ state: "X" }), boot, false],
    ["the pid reused by a later process", st({ startTime: 156733 }), boot, false],
    ["the pid reused by an earlier-started process", st({ startTime: 100 }), boot, false],
    ["another boot", st(), "00000000-0000-0000-0000-000000000000", false],
    ["another pid's stat", st({ pid: 11068 }), boot, false],
  ] as const)("%s", (_what, current, bootId, want) => {
    expect(isSameLiveProcess(rec, current, bootId)).toBe(want);
  });
});
