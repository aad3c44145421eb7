// The rule for signalling a lease holder (src/lease/proof.ts), by table: each condition's failing
// branch on its own, so dropping or inverting any one of them fails a row.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type HolderFacts, judgeHolder } from "../../../src/lease/proof.js";
import { parseStatusUids, type ProcView } from "../../../src/lease/proc.js";

const BOOT = "3546ff3f-23a2-4039-a591-c1682a320d0d";
const record = { dev: 64, ino: 1001, uid: 1000 };
const lock = { dev: 64, ino: 1000 };
const holderProc: ProcView = {
  stat: { pid: 4242, comm: "sleep", state: "S", ppid: 1, startTime: 5000 },
  uids: [1000, 1000, 1000, 1000],
  open: [
    { dev: 9, ino: 5 }, // /dev/null
    lock,
    record,
  ],
};
const facts = (over: Partial<HolderFacts> & { proc?: ProcView | undefined }): HolderFacts => ({
  recorded: { pid: 4242, startTime: 5000, bootId: BOOT },
  record,
  lock,
  proc: holderProc,
  bootId: BOOT,
  ...over,
});
const withProc = (p: Partial<ProcView>) => facts({ proc: { ...holderProc, ...p } });

describe("judgeHolder", () => {
  it.each<[string, HolderFacts, string, RegExp?]>([
    ["the holder: same process, the record's owner, both files open", facts({}), "holder"],
    [
      "root's own holder of a root-owned record",
      facts({ record: { ...record, uid: 0 }, proc: { ...holderProc, uids: [0, 0, 0, 0] } }),
      "holder",
    ],
    [
      "invisible to us (gone, or hidden by ProtectProc)",
      facts({ proc: undefined }),
      "unproven",
      /not visible/,
    ],
    ["pid reused: another start time", withProc({ stat: { ...holderProc.stat, startTime: 5001 } }), "gone"],
    ["another boot", facts({ bootId: "other" }), "gone"],
    ["a zombie", withProc({ stat: { ...holderProc.stat, state: "Z" } }), "gone"],
    [
      "a forged record naming another user's process",
      withProc({ uids: [0, 0, 0, 0] }),
      "unproven",
      /runs as uid 0, but the record belongs to uid 1000/,
    ],
    ["effective uid differs (setuid program)", withProc({ uids: [1000, 0, 0, 0] }), "unproven", /uid 0/],
    ["filesystem uid differs", withProc({ uids: [1000, 1000, 1000, 7] }), "unproven", /uid 7/],
    ["open files not readable", withProc({ open: undefined }), "unproven", /not readable/],
    ["the record is not open in it", withProc({ open: [lock] }), "unproven", /record open/],
    ["the lock is not open in it", withProc({ open: [record] }), "unproven", /lock open/],
    [
      "same inode on another device is another file",
      withProc({ open: [lock, { ...record, dev: 65 }] }),
      "unproven",
      /record open/,
    ],
    [
      "same device, another inode",
      withProc({ open: [{ ...lock, ino: 999 }, record] }),
      "unproven",
      /lock open/,
    ],
    ["nothing open", withProc({ open: [] }), "unproven", /record open/],
  ])("%s", (_what, f, kind, why) => {
    const v = judgeHolder(f);
    expect(v.kind).toBe(kind);
    if (why) expect(v.kind === "unproven" ? v.why : "").toMatch(why);
  });
});

describe("parseStatusUids", () => {
  it("reads a real /proc/PID/status (sleep run as uid 41001)", () => {
    const text = readFileSync(
      path.join(import.meta.dirname, "../../fixtures/proc-stat/status-sleep.txt"),
      "utf8",
    );
    expect(parseStatusUids(text)).toEqual([41001, 41001, 41001, 41001]);
  });
  it.each<[string, string, number[] | undefined]>([
    [
      "a normal process",
      "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n",
      [1000, 1000, 1000, 1000],
    ],
    ["a setuid one", "Uid:\t1000\t0\t0\t0\n", [1000, 0, 0, 0]],
    ["missing", "Name:\tx\nGid:\t0\t0\t0\t0\n", undefined],
    ["truncated", "Uid:\t1000\t1000\n", undefined],
  ])("%s", (_what, text, want) => {
    expect(parseStatusUids(text)).toEqual(want);
  });
});
