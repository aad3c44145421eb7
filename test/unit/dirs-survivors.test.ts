// ensureSharedDir's decisions against an in-memory filesystem (test/unit/shared-dirs.test.ts has
// the real one): a directory made by someone else between the check and mkdir (either mkdir),
// a file in the way, missing parents made top down and the filesystem root not recursed past,
// errors other than ENOENT/EEXIST thrown as they are, and settle(): no chmod when the mode is
// right, the RestrictSUIDSGID fallback (EPERM for special bits only) and its warning.
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { setLogWriter } from "../../src/log.js";
import { type DirOps, ensureSharedDir } from "../../src/state/dirs.js";

const err = (code: string) => Object.assign(new Error(`${code}: fake`), { code });

interface FakeFs extends DirOps {
  /** path → mode (st_mode & 0o7777); `file: true` for a regular file. */
  nodes: Map<string, { mode: number; file?: boolean }>;
  calls: string[];
}

/**
 * A filesystem where `/` exists. mkdir makes the permission bits and inherits the parent's setgid
 * bit, like the kernel; `before` runs before each mkdir (to make a race), `chmod` may be replaced.
 */
function fakeFs(opts: { before?: (dir: string, fs: FakeFs) => void; root?: boolean } = {}): FakeFs {
  const fs: FakeFs = {
    nodes: new Map(opts.root === false ? [] : [["/", { mode: 0o755 }]]),
    calls: [],
    mkdir(dir, mode) {
      fs.calls.push(`mkdir ${dir} ${mode.toString(8)}`);
      opts.before?.(dir, fs);
      if (fs.nodes.has(dir)) throw err("EEXIST");
      const parent = fs.nodes.get(path.dirname(dir));
      if (!parent || dir === path.dirname(dir)) throw err("ENOENT");
      fs.nodes.set(dir, { mode: (mode & 0o777) | (parent.mode & 0o2000) });
    },
    chmod(dir, mode) {
      fs.calls.push(`chmod ${dir} ${mode.toString(8)}`);
      fs.nodes.get(dir)!.mode = mode;
    },
    modeOf: (dir) => fs.nodes.get(dir)?.mode,
    isDirectory(dir) {
      const n = fs.nodes.get(dir);
      if (!n) throw err("ENOENT");
      return !n.file;
    },
  };
  return fs;
}

/** chmod as under systemd's RestrictSUIDSGID=: EPERM for a mode with a special bit. */
const restrictSuidSgid = (fs: FakeFs) => {
  const chmod = fs.chmod.bind(fs);
  fs.chmod = (dir, mode) => {
    if ((mode & 0o7000) !== 0) {
      fs.calls.push(`chmod ${dir} ${mode.toString(8)} refused`);
      throw err("EPERM");
    }
    chmod(dir, mode);
  };
  return fs;
};

let logged = "";
afterEach(() => {
  setLogWriter(undefined);
  logged = "";
});
const captureLog = () => setLogWriter((t) => (logged += t));

describe("ensureSharedDir: missing parents", () => {
  it("makes each missing directory top down, settled to the mode (the child inherits setgid), and says it made one", () => {
    const fs = fakeFs();
    expect(ensureSharedDir("/a/b", 0o2775, fs)).toBe(true);
    expect(fs.calls).toEqual(["mkdir /a/b 2775", "mkdir /a 2775", "chmod /a 2775", "mkdir /a/b 2775"]);
    expect(fs.modeOf("/a")).toBe(0o2775);
    expect(fs.modeOf("/a/b")).toBe(0o2775);
  });

  it("a filesystem without its root fails with ENOENT at the root, not an endless recursion", () => {
    const fs = fakeFs({ root: false });
    expect(() => ensureSharedDir("/a", 0o2775, fs)).toThrow("ENOENT: fake");
    expect(fs.calls).toEqual(["mkdir /a 2775", "mkdir / 2775"]);
  });

  it.each(["EACCES", "EROFS", "ENOTDIR"])("%s from mkdir is thrown as it is, no parent tried", (code) => {
    const fs = fakeFs({
      before: () => {
        throw err(code);
      },
    });
    expect(() => ensureSharedDir("/a/b", 0o2775, fs)).toThrow(`${code}: fake`);
    expect(fs.calls).toEqual(["mkdir /a/b 2775"]);
  });
});

describe("ensureSharedDir: someone else made it first", () => {
  it("between the check and mkdir: not ours (false), left as its maker set it", () => {
    const fs = fakeFs({
      before: (dir, f) => {
        if (dir === "/a") f.nodes.set("/a", { mode: 0o700 });
      },
    });
    expect(ensureSharedDir("/a", 0o2775, fs)).toBe(false);
    expect(fs.calls).toEqual(["mkdir /a 2775"]);
    expect(fs.modeOf("/a")).toBe(0o700);
  });

  it("while its parent was being made: not ours (false), left as its maker set it", () => {
    let first = true;
    const fs = fakeFs({
      before: (dir, f) => {
        if (dir === "/a/b" && !first) f.nodes.set("/a/b", { mode: 0o700 });
        first = false;
      },
    });
    expect(ensureSharedDir("/a/b", 0o2775, fs)).toBe(false);
    expect(fs.calls).toEqual(["mkdir /a/b 2775", "mkdir /a 2775", "chmod /a 2775", "mkdir /a/b 2775"]);
    expect(fs.modeOf("/a/b")).toBe(0o700);
  });

  it("a file in the way is an error (EEXIST), not a directory made", () => {
    const fs = fakeFs();
    fs.nodes.set("/a", { mode: 0o644, file: true });
    expect(() => ensureSharedDir("/a", 0o2775, fs)).toThrow("EEXIST: fake");
    expect(fs.calls).toEqual(["mkdir /a 2775"]);
  });

  it("a file put in the way while its parent was being made is an error too", () => {
    let first = true;
    const fs = fakeFs({
      before: (dir, f) => {
        if (dir === "/a/b" && !first) f.nodes.set("/a/b", { mode: 0o644, file: true });
        first = false;
      },
    });
    expect(() => ensureSharedDir("/a/b", 0o2775, fs)).toThrow("EEXIST: fake");
  });

  it("another error from the second mkdir is thrown as it is", () => {
    let first = true;
    const fs = fakeFs({
      before: (dir) => {
        if (dir === "/a/b" && !first) throw err("ENOSPC");
        first = false;
      },
    });
    expect(() => ensureSharedDir("/a/b", 0o2775, fs)).toThrow("ENOSPC: fake");
  });
});

describe("ensureSharedDir: settling the mode of a directory it made", () => {
  it("made with the right mode already (setgid inherited): no chmod at all", () => {
    const fs = fakeFs();
    fs.nodes.set("/s", { mode: 0o2775 });
    expect(ensureSharedDir("/s/c", 0o2775, fs)).toBe(true);
    expect(fs.calls).toEqual(["mkdir /s/c 2775"]);
  });

  it("chmod refused for the special bits: the permission bits set alone, and a warning", () => {
    captureLog();
    const fs = restrictSuidSgid(fakeFs());
    fs.nodes.set("/p", { mode: 0o755 });
    expect(ensureSharedDir("/p/c", 0o2770, fs)).toBe(true);
    expect(fs.calls).toEqual(["mkdir /p/c 2770", "chmod /p/c 2770 refused"]);
    expect(fs.modeOf("/p/c")).toBe(0o770);
    expect(logged).toContain(
      "created /p/c without its setgid/sticky bit: chmod was refused (systemd RestrictSUIDSGID=?); make the parent directory setgid so new directories inherit the group",
    );
  });

  it("refused, with the permission bits wrong too: a chmod without the special bits fixes them", () => {
    captureLog();
    const fs = restrictSuidSgid(fakeFs());
    fs.nodes.set("/p", { mode: 0o755 });
    // mkdir gives 0o775 here; 0o3770 wants 0o770 for the permission bits.
    const mkdir = fs.mkdir.bind(fs);
    fs.mkdir = (d) => mkdir(d, 0o775);
    expect(ensureSharedDir("/p/c", 0o3770, fs)).toBe(true);
    expect(fs.calls).toEqual(["mkdir /p/c 775", "chmod /p/c 3770 refused", "chmod /p/c 770"]);
    expect(fs.modeOf("/p/c")).toBe(0o770);
    expect(logged).toContain("without its setgid/sticky bit");
  });

  it("refused, but the special bits are there by the end (set meanwhile by the operator): no warning", () => {
    captureLog();
    const fs = restrictSuidSgid(fakeFs());
    fs.nodes.set("/p", { mode: 0o755 });
    const mkdir = fs.mkdir.bind(fs);
    fs.mkdir = (d) => mkdir(d, 0o700);
    const chmod = fs.chmod.bind(fs);
    fs.chmod = (d, m) => {
      chmod(d, m);
      fs.nodes.get(d)!.mode = 0o2770;
    };
    expect(ensureSharedDir("/p/c", 0o2770, fs)).toBe(true);
    expect(fs.calls).toEqual(["mkdir /p/c 700", "chmod /p/c 2770 refused", "chmod /p/c 770"]);
    expect(logged).toBe("");
  });

  it("EPERM for a mode without special bits is not swallowed", () => {
    const fs = fakeFs();
    fs.mkdir = (d) => void fs.nodes.set(d, { mode: 0o700 });
    fs.chmod = () => {
      throw err("EPERM");
    };
    expect(() => ensureSharedDir("/c", 0o775, fs)).toThrow("EPERM: fake");
  });

  it("EPERM for a mode without special bits is not swallowed, even when only an inherited bit is off", () => {
    const fs = fakeFs();
    fs.nodes.set("/s", { mode: 0o2755 });
    fs.chmod = () => {
      throw err("EPERM");
    };
    expect(() => ensureSharedDir("/s/c", 0o775, fs)).toThrow("EPERM: fake");
  });

  it("a refusal other than EPERM is not swallowed, special bits or not", () => {
    const fs = fakeFs();
    fs.chmod = () => {
      throw err("EROFS");
    };
    expect(() => ensureSharedDir("/c", 0o2775, fs)).toThrow("EROFS: fake");
  });
});
