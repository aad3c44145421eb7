// Record files alive exactly while their holder is, against the real kernel (flock(1) on scratch
// files): a prepared record is locked before it is visible, a published one reads as held until its
// descriptor closes, a release removes only its own inode, and what is no record (missing, a
// symlink, a hard link, a directory) reads as undefined.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ToolError } from "../../../src/errors.js";
import { lockFd } from "../../../src/lease/flock.js";
import {
  discardPrepared,
  prepareRecord,
  publishRecord,
  readRecord,
  releaseHeld,
  unlinkIfSame,
} from "../../../src/lease/records.js";
import { asRoot, removeCaller, runCaller } from "../../support/lease-child.js";

const dir = () => mkdtempSync(path.join(tmpdir(), "ik-records-"));

describe("lease records", () => {
  it("prepared: a hidden temp file beside the record, mode 0640, already held", async () => {
    const d = dir();
    const file = path.join(d, "lease.a.json");
    const p = await prepareRecord(file);
    expect(path.dirname(p.tmp)).toBe(d);
    expect(path.basename(p.tmp)).toMatch(
      new RegExp(`^\\.lease\\.a\\.json\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`),
    );
    expect(statSync(p.tmp).mode & 0o7777).toBe(0o640);
    expect(statSync(p.tmp).ino).toBe(p.ino);
    expect(existsSync(file)).toBe(false);
    expect((await readRecord(p.tmp))?.held).toBe(true);
    discardPrepared(p);
    expect(readdirSync(d)).toEqual([]);
  });

  it("published: whole, held while its descriptor is open, not held after", async () => {
    const d = dir();
    const file = path.join(d, "lease.a.json");
    const h = publishRecord(await prepareRecord(file), file, { v: 1, id: "a" });
    expect(h.file).toBe(file);
    const r = await readRecord(file);
    expect(r).toMatchObject({ raw: { v: 1, id: "a" }, held: true, ino: h.ino, uid: process.getuid!() });
    expect(r!.dev).toBe(statSync(file).dev);
    closeSync(h.fd);
    expect(await readRecord(file)).toMatchObject({ raw: { v: 1, id: "a" }, held: false });
  });

  it("released: the file is gone and the lock dropped", async () => {
    const d = dir();
    const file = path.join(d, "lease.a.json");
    const h = publishRecord(await prepareRecord(file), file, { id: "a" });
    releaseHeld(h);
    expect(existsSync(file)).toBe(false);
    expect(await readRecord(file)).toBeUndefined();
  });

  it("a release leaves a newer record renamed over its file alone", async () => {
    const d = dir();
    const file = path.join(d, "lease.a.json");
    const old = publishRecord(await prepareRecord(file), file, { n: 1 });
    const renewed = publishRecord(await prepareRecord(file), file, { n: 2 });
    releaseHeld(old);
    expect(await readRecord(file)).toMatchObject({ raw: { n: 2 }, held: true });
    releaseHeld(renewed);
    expect(existsSync(file)).toBe(false);
  });

  it("unlinkIfSame: only that inode; a missing file is fine", () => {
    const d = dir();
    const f = path.join(d, "x");
    writeFileSync(f, "1");
    unlinkIfSame(f, statSync(f).ino + 1);
    expect(existsSync(f)).toBe(true);
    unlinkIfSame(f, statSync(f).ino);
    expect(existsSync(f)).toBe(false);
    expect(() => unlinkIfSame(f, 1)).not.toThrow();
  });

  it("a record that is not JSON reads as null, its lock still counted", async () => {
    const d = dir();
    const f = path.join(d, "lease.x.json");
    writeFileSync(f, "not json");
    expect(await readRecord(f)).toMatchObject({ raw: null, held: false });
  });

  it("no record: missing, a symlink, a hard link, a directory", async () => {
    const d = dir();
    const real = path.join(d, "real.json");
    writeFileSync(real, "{}");
    symlinkSync(real, path.join(d, "sym.json"));
    mkdirSync(path.join(d, "dir.json"));
    expect(await readRecord(path.join(d, "missing.json"))).toBeUndefined();
    expect(await readRecord(path.join(d, "sym.json"))).toBeUndefined();
    expect(await readRecord(path.join(d, "dir.json"))).toBeUndefined();
    expect(await readRecord(real)).toMatchObject({ raw: {}, held: false });
    linkSync(real, path.join(d, "hard.json"));
    expect(await readRecord(real)).toBeUndefined();
    expect(await readRecord(path.join(d, "hard.json"))).toBeUndefined();
  });

  it("a directory it cannot write in is a ToolError naming it, with the group hint", async () => {
    const d = path.join(dir(), "missing");
    const e = await prepareRecord(path.join(d, "lease.a.json")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ToolError);
    expect((e as ToolError).message).toMatch(new RegExp(`^cannot write a lease record in ${d}: ENOENT`));
    expect((e as ToolError).hint).toMatch(/must both be in the group that owns/);
  });

  it("a record that cannot be moved into place is a ToolError naming it", async () => {
    const d = dir();
    const file = path.join(d, "lease.a.json");
    mkdirSync(file);
    writeFileSync(path.join(file, "x"), "");
    const p = await prepareRecord(file);
    const e = (() => {
      try {
        publishRecord(p, file, {});
      } catch (x) {
        return x;
      }
      return undefined;
    })() as ToolError;
    discardPrepared(p);
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toMatch(new RegExp(`^cannot publish the lease record ${file}: `));
    expect(e.hint).toMatch(/must both be in the group that owns/);
    expect(readdirSync(d)).toEqual(["lease.a.json"]);
  });
});

// Why a rename into the run dir was refused (EPERM): another user's record at that name in the
// sticky run dir, or a run dir that refuses everyone (immutable). Each gets its own hint. Both need
// root: to start a caller as another user (setpriv), and to make a directory immutable (chattr).
describe.skipIf(!asRoot)("lease records: a refused publish says why (runs as root)", () => {
  afterAll(() => removeCaller());

  it("another user's record at the name, in a sticky dir: choose another id, naming its uid", async () => {
    const d = dir();
    chmodSync(d, 0o1777);
    const file = path.join(d, "lease.job-1.json");
    writeFileSync(file, "{}\n"); // root's
    // CAP_DAC_READ_SEARCH only to read the bundled caller; replacing a file in a sticky dir needs
    // CAP_FOWNER, which it does not have.
    const r = await runCaller(
      [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all,+dac_read_search",
        "--ambient-caps=+dac_read_search",
      ],
      "publish",
      { file },
    );
    if (!("error" in r)) throw new Error(`published: ${JSON.stringify(r)}`);
    expect(r.error.name).toBe("ToolError");
    expect(r.error.message).toMatch(
      new RegExp(`^cannot publish the lease record ${file}: EPERM: operation not permitted, rename '`),
    );
    expect(r.error.hint).toBe(
      `${file} belongs to another user (uid 0): choose another lease id (ids are per user in a sticky run dir).`,
    );
    expect(readdirSync(d)).toEqual(["lease.job-1.json"]);
  }, 30_000); // bundling the caller takes seconds on a loaded host

  // EPERM over no record, or over our own: not "another user's".
  it.each([
    ["no record at the name", false],
    ["our own record at the name", true],
  ])("an immutable run dir, %s: the access hint", async (_n, ours) => {
    const d = dir();
    const file = path.join(d, "lease.job-1.json");
    if (ours) writeFileSync(file, "{}\n"); // root's, as this test runs
    const p = await prepareRecord(file);
    execFileSync("chattr", ["+i", d]);
    try {
      const e = (() => {
        try {
          publishRecord(p, file, { by: "test" });
        } catch (x) {
          return x as ToolError;
        }
      })()!;
      expect(e).toBeInstanceOf(ToolError);
      expect(e.message).toBe(
        `cannot publish the lease record ${file}: EPERM: operation not permitted, rename '${p.tmp}' -> '${file}'`,
      );
      expect(e.hint).toBe(
        `The runner and the prune service must both be in the group that owns ${d} (mode 3770); see docs/leases.md.`,
      );
    } finally {
      execFileSync("chattr", ["-i", d]);
      discardPrepared(p);
    }
  });
});

// readRecord's edges: an open error other than "no such file" or "a symlink" is thrown, not read
// as "no record"; and a read drops its shared lock (closes its descriptor) when done.
describe("readRecord: errors and its own descriptor", () => {
  it("a path through a plain file (ENOTDIR) is an error, not a missing record", async () => {
    const d = dir();
    writeFileSync(path.join(d, "f"), "");
    await expect(readRecord(path.join(d, "f", "lease.a.json"))).rejects.toThrow(
      /^ENOTDIR: not a directory, open '/,
    );
  });

  it("after a read, nothing of ours holds the record's lock", async () => {
    const d = dir();
    const file = path.join(d, "lease.a.json");
    writeFileSync(file, "{}\n");
    expect((await readRecord(file))?.held).toBe(false);
    const fd = openSync(file, "r");
    try {
      expect(await lockFd(fd, "exclusive")).toBe("locked");
    } finally {
      closeSync(fd);
    }
  });
});

// An error other than EPERM says nothing about the owner, even when another user's file is there.
describe.skipIf(!asRoot)("lease records: a non-EPERM refusal (runs as root)", () => {
  it("another user's directory at the name (EISDIR/ENOTEMPTY): the access hint", async () => {
    const d = dir();
    const file = path.join(d, "lease.a.json");
    mkdirSync(file);
    writeFileSync(path.join(file, "x"), "");
    chownSync(file, 65534, 65534);
    const p = await prepareRecord(file);
    const e = (() => {
      try {
        publishRecord(p, file, {});
      } catch (x) {
        return x as ToolError;
      }
    })()!;
    discardPrepared(p);
    expect(e).toBeInstanceOf(ToolError);
    expect(e.hint).toBe(
      `The runner and the prune service must both be in the group that owns ${d} (mode 3770); see docs/leases.md.`,
    );
  });
});
