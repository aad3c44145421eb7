// ensureSharedDir on the real filesystem, with chmod replaced where a test needs it refused the
// way systemd's RestrictSUIDSGID= refuses it (EPERM for a mode with the setgid or sticky bit).
import { chmodSync, mkdirSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { isMainThread } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { type DirOps, ensureSharedDir } from "../../src/state/dirs.js";

// These two need mkdir itself to apply the umask (no chmod follows): in worker threads (a
// mutation run) the umask is only emulated (test/support/worker-umask.ts).
const REAL_UMASK = isMainThread;
const modeOf = (p: string) => statSync(p).mode & 0o7777;
const base = () => mkdtempSync(path.join(tmpdir(), "ikdirs-"));

function realOps(refuseSpecial: boolean): DirOps & { chmods: number[] } {
  const chmods: number[] = [];
  return {
    chmods,
    mkdir: (d, m) => {
      const old = process.umask(0o777 & ~m);
      try {
        mkdirSync(d, m & 0o777);
      } finally {
        process.umask(old);
      }
    },
    chmod: (d, m) => {
      chmods.push(m);
      if (refuseSpecial && (m & 0o7000) !== 0)
        throw Object.assign(new Error("EPERM: operation not permitted"), { code: "EPERM" });
      chmodSync(d, m);
    },
    modeOf: (d) => {
      try {
        return modeOf(d);
      } catch {
        return undefined;
      }
    },
    isDirectory: (d) => statSync(d).isDirectory(),
  };
}

const umask = process.umask();
afterEach(() => {
  process.umask(umask);
});

describe("ensureSharedDir", () => {
  it.each([0o077, 0o022, 0o000])("every directory it makes is 2775 under umask %o", (mask) => {
    process.umask(mask);
    const root = base();
    const leaf = path.join(root, "a", "b", "c");
    expect(ensureSharedDir(leaf)).toBe(true);
    for (const d of ["a", "a/b", "a/b/c"]) expect(modeOf(path.join(root, d))).toBe(0o2775);
    expect(process.umask()).toBe(mask);
  });

  it("leaves an existing directory as its owner set it, and says it made nothing", () => {
    const root = base();
    chmodSync(root, 0o700);
    expect(ensureSharedDir(root)).toBe(false);
    expect(modeOf(root)).toBe(0o700);
  });

  it.skipIf(!REAL_UMASK)(
    "inside a setgid parent, needs no chmod at all (the kernel passes the bit on)",
    () => {
      process.umask(0o077);
      const root = base();
      chmodSync(root, 0o2775);
      const ops = realOps(true);
      ensureSharedDir(path.join(root, "cache"), 0o2775, ops);
      expect(modeOf(path.join(root, "cache"))).toBe(0o2775);
      expect(ops.chmods).toEqual([]);
    },
  );

  it.skipIf(!REAL_UMASK)(
    "chmod refused for the special bits (RestrictSUIDSGID): the permission bits still right, no throw",
    () => {
      process.umask(0o077);
      const root = base();
      chmodSync(root, 0o755);
      const ops = realOps(true);
      ensureSharedDir(path.join(root, "x"), 0o3770, ops);
      expect(modeOf(path.join(root, "x"))).toBe(0o770);
      expect(ops.chmods).toEqual([0o3770]);
    },
  );

  it("a refusal other than EPERM is not swallowed", () => {
    const root = base();
    const ops = realOps(false);
    ops.chmod = () => {
      throw Object.assign(new Error("EROFS"), { code: "EROFS" });
    };
    ops.modeOf = () => 0;
    expect(() => ensureSharedDir(path.join(root, "y"), 0o2775, ops)).toThrow(/EROFS/);
  });
});

describe("ensureSharedDir on a directory that is there already", () => {
  it("neither makes nor changes anything (so the process-wide umask is never set)", () => {
    const root = base();
    const ops = { ...realOps(false), mkdir: () => expect.fail("mkdir called for an existing directory") };
    chmodSync(root, 0o750);
    expect(ensureSharedDir(root, 0o2775, ops)).toBe(false);
    expect(ops.chmods).toEqual([]);
    expect(modeOf(root)).toBe(0o750);
  });
});
