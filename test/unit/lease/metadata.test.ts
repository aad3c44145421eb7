// Pure parts of the lease records: the record schema (records cross a user boundary: another
// user's process wrote them), lease ids and file names, and the flock/sleep argv.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { flockArgs } from "../../../src/lease/flock.js";
import { sleepSeconds } from "../../../src/lease/holder.js";
import { checkLeaseId, describeCommand } from "../../../src/lease/ids.js";
import {
  exclusiveRecordSchema,
  leaseRecordSchema,
  liveLeaseRecords,
  readLeaseFile,
} from "../../../src/lease/metadata.js";
import { type Held, prepareRecord, publishRecord, releaseHeld } from "../../../src/lease/records.js";
import { leaseFile, leaseIdOfFile } from "../../../src/lease/rundir.js";
import { makeRunDir, removeRunDirs } from "../../support/lease-fixture.js";

const run = {
  v: 1,
  id: "run-0123456789ab",
  kind: "run",
  pid: 17960,
  startTime: 174620,
  bootId: "3546ff3f-23a2-4039-a591-c1682a320d0d",
  command: "sh -c true",
  since: "2026-11-23T12:48:28.102Z",
};
const acquired = {
  ...run,
  id: "job-1",
  kind: "acquired",
  command: "lease acquire by bash (pid 17940)",
  expiresAt: "2026-11-23T18:48:28.102Z",
};

describe("leaseRecordSchema", () => {
  it.each<[string, unknown, boolean]>([
    ["a run lease", run, true],
    ["an acquired lease", acquired, true],
    ["an acquired lease without expiresAt", { ...acquired, expiresAt: undefined }, false],
    ["a run lease with expiresAt", { ...run, expiresAt: acquired.expiresAt }, false],
    ["another version", { ...run, v: 2 }, false],
    ["an unknown kind", { ...run, kind: "prune" }, false],
    ["an id that is a path", { ...run, id: "../x" }, false],
    ["pid 0", { ...run, pid: 0 }, false],
    ["a fractional start time", { ...run, startTime: 1.5 }, false],
    ["a date that is not ISO", { ...run, since: "yesterday" }, false],
    ["an unknown key", { ...run, user: "ci" }, false],
    ["a missing bootId", { ...run, bootId: undefined }, false],
    ["not an object", "run", false],
    ["null (not JSON)", null, false],
  ])("%s", (_what, value, ok) => {
    expect(leaseRecordSchema.safeParse(value).success).toBe(ok);
  });

  it("exclusive records carry no lease fields", () => {
    const ex = { v: 1, pid: 1, startTime: 2, bootId: "b", since: run.since };
    expect(exclusiveRecordSchema.safeParse(ex).success).toBe(true);
    expect(exclusiveRecordSchema.safeParse({ ...ex, id: "x" }).success).toBe(false);
  });
});

describe("lease ids", () => {
  it.each([
    ["job-1", true],
    ["run-0123456789ab", true],
    ["CI_42.attempt-2", true],
    ["_x", true],
    ["a".repeat(64), true],
    ["a".repeat(65), false],
    ["", false],
    [".hidden", false],
    ["../etc/passwd", false],
    ["a/b", false],
    ["a b", false],
    ["ü", false],
  ])("%j valid: %s", (id, ok) => {
    if (ok) expect(checkLeaseId(id, "lease release")).toBe(id);
    else expect(() => checkLeaseId(id, "lease release")).toThrow(/is not a lease id/);
  });

  it.each([
    ["lease.job-1.json", "job-1"],
    ["lease.a.b.json", "a.b"],
    ["lease.lock", undefined],
    ["exclusive.json", undefined],
    [".lease.job-1.json.123.abcd.tmp", undefined],
    ["lease..json", undefined],
    ["lease..x.json", undefined],
  ])("file %s holds lease %s", (name, id) => {
    expect(leaseIdOfFile(name)).toBe(id);
  });

  it.each([
    [["sleep", "30"], "sleep 30"],
    [["sh", "-c", "echo hi; exit 3"], 'sh -c "echo hi; exit 3"'],
    [["printf", ""], 'printf ""'],
    [["x".repeat(600)], `${"x".repeat(499)}…`],
  ])("describes %j as %s", (argv, want) => {
    expect(describeCommand(argv)).toBe(want);
  });
});

describe("flock and sleep argv", () => {
  it.each([
    ["shared", undefined, ["--shared", "--nonblock", "3"]],
    ["exclusive", undefined, ["--exclusive", "--nonblock", "3"]],
    ["shared", 600_000, ["--shared", "--wait", "600.000", "3"]],
    ["shared", 250, ["--shared", "--wait", "0.250", "3"]],
    ["shared", -5, ["--shared", "--wait", "0.000", "3"]],
  ] as const)("%s, wait %s", (mode, waitMs, want) => {
    expect(flockArgs(mode, waitMs)).toEqual(want);
  });

  it.each([
    [21_600_000, "21600.000"],
    [1500, "1.500"],
    [1, "0.001"],
  ])("sleep for a TTL of %i ms: %s", (ms, want) => {
    expect(sleepSeconds(ms)).toBe(want);
  });
});

// The schema's success side and its one refinement message, and the readers over a real run dir:
// a record for another id is "invalid", records come back in id order, a missing run dir is none.
describe("lease records: accepted shapes and the readers", () => {
  it.each<[string, unknown]>([
    ["a run lease", run],
    ["an acquired lease", acquired],
    ["a command of 1000 characters", { ...run, command: "x".repeat(1000) }],
  ])("accepts %s as it is", (_what, value) => {
    expect(leaseRecordSchema.parse(value)).toEqual(value);
  });

  it("rejects a command of 1001 characters", () => {
    expect(leaseRecordSchema.safeParse({ ...run, command: "x".repeat(1001) }).success).toBe(false);
  });

  it("rejects an empty bootId", () => {
    expect(leaseRecordSchema.safeParse({ ...run, bootId: "" }).success).toBe(false);
  });

  it("says why expiresAt is wrong", () => {
    const r = leaseRecordSchema.safeParse({ ...run, expiresAt: acquired.expiresAt });
    expect(r.error?.issues.map((i) => i.message)).toEqual(["expiresAt is set exactly for acquired leases"]);
  });

  it("accepts an exclusive record as it is", () => {
    const ex = { v: 1, pid: 17960, startTime: 174620, bootId: run.bootId, since: run.since };
    expect(exclusiveRecordSchema.parse(ex)).toEqual(ex);
  });

  const held: Held[] = [];
  afterAll(() => {
    for (const h of held.splice(0)) releaseHeld(h);
    removeRunDirs();
  });
  const hold = async (rd: string, id: string, data: unknown) => {
    const file = leaseFile(rd, id);
    const h = publishRecord(await prepareRecord(file), file, data);
    held.push(h);
    return h;
  };

  it("readLeaseFile: a valid record under another id's name is invalid", async () => {
    const rd = makeRunDir();
    await hold(rd, "job-2", { ...run, id: "job-1" });
    await hold(rd, "job-1", { ...run, id: "job-1" });
    expect((await readLeaseFile(rd, "job-2"))?.rec).toBe("invalid");
    expect((await readLeaseFile(rd, "job-1"))?.rec).toEqual({ ...run, id: "job-1" });
  });

  it("liveLeaseRecords: in id order, whatever order they were made in", async () => {
    const rd = makeRunDir();
    for (const id of ["c", "a", "d", "b"]) await hold(rd, id, { ...run, id });
    expect((await liveLeaseRecords(rd)).map((r) => r.id)).toEqual(["a", "b", "c", "d"]);
  });

  it("liveLeaseRecords: a missing run dir holds none; a run dir that is a file is an error", async () => {
    const rd = makeRunDir();
    expect(await liveLeaseRecords(path.join(rd, "missing"))).toEqual([]);
    const file = path.join(rd, "file");
    writeFileSync(file, "");
    await expect(liveLeaseRecords(file)).rejects.toThrow(/^ENOTDIR: not a directory, scandir '/);
  });
});
