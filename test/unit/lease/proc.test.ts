// /proc/[pid]/stat parsing and the identity rule, against lines captured from a real kernel
// (Debian 12, test/fixtures/proc-stat/): a plain process, one whose name holds spaces and
// parentheses, and a zombie.
import { chmodSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  bootId,
  isSameLiveProcess,
  type ProcStat,
  parseProcStat,
  parseStatusUids,
} from "../../../src/lease/proc.js";
import { asRoot, bundleCaller, removeCaller, runCaller } from "../../support/lease-child.js";

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
    ["dead (x, kernels 2.6.33 to 3.13)", st({ state: "x" }), boot, false],
    ["the pid reused by a later process", st({ startTime: 156733 }), boot, false],
    ["the pid reused by an earlier-started process", st({ startTime: 100 }), boot, false],
    ["another boot", st(), "00000000-0000-0000-0000-000000000000", false],
    ["another pid's stat", st({ pid: 11068 }), boot, false],
  ] as const)("%s", (_what, current, bootId, want) => {
    expect(isSameLiveProcess(rec, current, bootId)).toBe(want);
  });
});

// The exact boundaries of the stat and status parsers: a forged or odd line must not yield an
// identity a prune would trust (to defer to, or to signal).
describe("parseProcStat boundaries", () => {
  // Fields 4..21 after the state, then field 22 (start time): rest[19].
  const tail = (start: string) => `1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 2990080`;
  it.each([
    ["a one-digit pid right before the parenthesis", `5(sleep) S ${tail("100")}`, { pid: 5, start: 100 }],
    ["start time 0 (a process started at boot)", `7 (init) S ${tail("0")}`, { pid: 7, start: 0 }],
    [
      "fields separated by runs of spaces",
      `8 (sleep)  S  1  1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 9`,
      { pid: 8, start: 42 },
    ],
  ])("accepts %s", (_what, text, want) => {
    const got = parseProcStat(text);
    expect(got && { pid: got.pid, start: got.startTime }).toEqual(want);
  });

  it.each([
    ["pid 0", `0 (sleep) S ${tail("100")}`],
    ["a pid that is not a number", `x (sleep) S ${tail("100")}`],
    ["a fractional pid", `1.5 (sleep) S ${tail("100")}`],
    ["a state of two characters, letter first", `9 (sleep) S1 ${tail("100")}`],
    ["a state of two characters, letter last", `9 (sleep) 1S ${tail("100")}`],
    ["a negative start time", `9 (sleep) S ${tail("-1")}`],
  ])("rejects %s", (_what, text) => {
    expect(parseProcStat(text)).toBeUndefined();
  });
});

describe("parseStatusUids", () => {
  it.each([
    [
      "tabs, as the kernel writes it",
      "Name:\tsleep\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n",
      [1000, 1001, 1002, 1003],
    ],
    ["runs of spaces between every field", "Uid:  1  2  3  4\n", [1, 2, 3, 4]],
    ["trailing blanks", "Uid:\t1\t2\t3\t4 \t\n", [1, 2, 3, 4]],
  ])("reads %s", (_what, text, want) => {
    expect(parseStatusUids(text)).toEqual(want);
  });

  it.each([
    ["no Uid line", "Name:\tsleep\nGid:\t0\t0\t0\t0\n"],
    ["Uid not at the start of its line", "XUid:\t0\t0\t0\t0\n"],
    ["a fifth field", "Uid:\t0\t0\t0\t0\t0\n"],
    ["something after the fourth uid", "Uid:\t0\t0\t0\t0x\n"],
    ["three uids", "Uid:\t0\t0\t0\n"],
  ])("rejects %s", (_what, text) => {
    expect(parseStatusUids(text)).toBeUndefined();
  });
});

describe("bootId", () => {
  it("is this boot's id without the file's newline", () => {
    expect(bootId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

// viewProcess as another user: root's init is visible, its descriptors are not (ptrace access
// mode), so `open` is undefined rather than an empty list (which would read as "holds nothing").
describe.skipIf(!asRoot)("viewProcess from another uid (runs as root)", () => {
  afterAll(() => removeCaller());

  it("another user's process: its uids, its files unreadable", async () => {
    chmodSync(path.dirname(await bundleCaller()), 0o755); // so the unprivileged caller can run it
    const r = await runCaller(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], "view", {
      pid: 1,
    });
    expect(r).toEqual({ ok: { uids: [0, 0, 0, 0], open: "unreadable" } });
  }, 30_000); // bundling the caller takes seconds on a loaded host
});
