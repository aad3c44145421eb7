// The run dir's pure parts and its files: lease ids and their file names, the lock file created
// group-readable whatever the umask, and a run dir created setgid (0o2770) only when we create it.
import { chmodSync, fstatSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError, ToolError } from "../../../src/errors.js";
import { closeLockFile, openLockFile } from "../../../src/lease/flock.js";
import { setLogWriter } from "../../../src/log.js";
import { checkLeaseId, describeCommand, newLeaseId } from "../../../src/lease/ids.js";
import {
  accessHint,
  ensureRunDir,
  exclusiveFile,
  leaseFile,
  leaseIdOfFile,
  lockFile,
} from "../../../src/lease/rundir.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "ik-rundir-"));
const mode = (p: string) => statSync(p).mode & 0o7777;

describe("lease ids", () => {
  it("generated ids: the prefix and 12 hex digits, valid, different each time", () => {
    const a = newLeaseId("run");
    const b = newLeaseId("lease");
    expect(a).toMatch(/^run-[0-9a-f]{12}$/);
    expect(b).toMatch(/^lease-[0-9a-f]{12}$/);
    expect(checkLeaseId(a, "run")).toBe(a);
    expect(newLeaseId("run")).not.toBe(a);
  });
  it("a bad id is a usage error naming the command and the rule", () => {
    try {
      checkLeaseId("a/b", "lease release");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      const err = e as InputError;
      expect(err.kind).toBe("usage");
      expect(err.message).toBe('imagekeeper lease release: "a/b" is not a lease id');
      expect(err.hint).toBe(
        "A lease id has 1 to 64 letters, digits, '.', '_' or '-', and does not start with '.'.",
      );
    }
  });
  it("describeCommand: 500 characters kept whole, 501 cut to 499 and an ellipsis", () => {
    expect(describeCommand(["x".repeat(500)])).toBe("x".repeat(500));
    expect(describeCommand(["x".repeat(501)])).toBe(`${"x".repeat(499)}…`);
    expect(describeCommand(["a b", "it's", "$HOME", "`x`", "back\\slash", "tab\tx"])).toBe(
      '"a b" "it\'s" "$HOME" "`x`" "back\\\\slash" "tab\\tx"',
    );
  });
});

describe("run dir file names", () => {
  it("lock, lease and exclusive files live in the run dir", () => {
    expect(lockFile("/run/ik")).toBe("/run/ik/lease.lock");
    expect(leaseFile("/run/ik", "job-1")).toBe("/run/ik/lease.job-1.json");
    expect(exclusiveFile("/run/ik")).toBe("/run/ik/exclusive.json");
    expect(accessHint("/run/ik")).toBe(
      "The runner and the prune service must both be in the group that owns /run/ik (mode 3770); see docs/leases.md.",
    );
  });
  it.each([
    ["lease.job-1.json", "job-1"],
    ["xlease.job-1.json", undefined],
    ["lease.job-1.json.tmp", undefined],
    ["lease.job-1.jsonx", undefined],
    [`lease.${"a".repeat(64)}.json`, "a".repeat(64)],
    [`lease.${"a".repeat(65)}.json`, undefined],
  ])("%s holds lease %s", (name, id) => {
    expect(leaseIdOfFile(name)).toBe(id);
  });
});

describe("ensureRunDir", () => {
  it("creates missing parents and the dir, setgid, sticky and group-writable", () => {
    const d = path.join(tmp(), "a", "b", "run");
    ensureRunDir(d);
    expect(statSync(d).isDirectory()).toBe(true);
    expect(mode(d)).toBe(0o3770);
    expect(mode(path.dirname(d))).toBe(0o3770);
  });
  it("leaves an existing dir's mode alone (the administrator's)", () => {
    const d = path.join(tmp(), "run");
    mkdirSync(d, { mode: 0o755 });
    ensureRunDir(d);
    expect(mode(d)).toBe(0o755);
  });
  it("a file in the way is a ToolError naming the run dir, with the fix", () => {
    const f = path.join(tmp(), "run");
    writeFileSync(f, "");
    for (const target of [f, path.join(f, "sub")]) {
      try {
        ensureRunDir(target);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ToolError);
        expect((e as Error).message).toMatch(
          new RegExp(`^cannot create the run dir ${target}: E(EXIST|NOTDIR)`),
        );
        expect((e as ToolError).hint).toMatch(/systemd-tmpfiles/);
      }
    }
  });
});

describe("ensureRunDir on an existing dir: the warning about a group-writable dir that is not sticky", () => {
  let logged = "";
  beforeEach(() => {
    logged = "";
    setLogWriter((t) => (logged += t));
  });
  afterEach(() => setLogWriter(undefined));
  const existing = (m: number) => {
    const d = path.join(tmp(), "run");
    mkdirSync(d);
    chmodSync(d, m);
    return d;
  };

  it("warns once per run dir when it is group-writable and not sticky (any member could delete lease.lock)", () => {
    const d = existing(0o2770);
    ensureRunDir(d);
    expect(logged).toContain(`the run dir ${d} is group-writable but not sticky`);
    expect(logged.split("\n").filter((l) => l.includes("not sticky"))).toHaveLength(1);
    ensureRunDir(d);
    expect(logged.split("\n").filter((l) => l.includes("not sticky"))).toHaveLength(1);
  });
  it.each([
    ["sticky and group-writable", 0o3770],
    ["sticky, not setgid", 0o1770],
    ["not group-writable", 0o2750],
    ["not group-writable, others may write (not this warning's business)", 0o2707],
  ])("no warning when %s", (_what, m) => {
    ensureRunDir(existing(m));
    expect(logged).toBe("");
  });
});

describe("openLockFile", () => {
  it("creates the lock file 0440 (read-only: flock needs no write), and opens the existing one after", () => {
    const d = path.join(tmp(), "run");
    mkdirSync(d);
    const fd = openLockFile(d);
    expect(mode(path.join(d, "lease.lock"))).toBe(0o440);
    const fd2 = openLockFile(d);
    expect(fstatSync(fd2).ino).toBe(fstatSync(fd).ino);
    closeLockFile(fd);
    closeLockFile(fd2);
    // Closing twice is harmless: the lock is released either way.
    expect(() => closeLockFile(fd2)).not.toThrow();
  });
  it("an unopenable lock file is a ToolError naming it, with the group hint", () => {
    // A symlink where the lock file should be: it exists (O_EXCL fails), and O_NOFOLLOW refuses it
    // (a member must not point the lock at another file).
    const d = path.join(tmp(), "run");
    mkdirSync(d);
    symlinkSync(path.join(d, "nowhere"), path.join(d, "lease.lock"));
    try {
      openLockFile(d);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ToolError);
      expect((e as Error).message).toMatch(new RegExp(`^cannot open the lease lock ${d}/lease.lock: ELOOP`));
      expect((e as ToolError).hint).toBe(accessHint(d));
    }
  });
});
