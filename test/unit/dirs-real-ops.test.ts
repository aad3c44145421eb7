// ensureSharedDir with its own (real) filesystem calls, chmodSync watched: mkdir itself must let
// the mode's permission bits through the umask and the mode must be read back, so that inside a
// setgid parent no chmod is made at all (under systemd's RestrictSUIDSGID= a chmod with the setgid
// bit is refused). Forked pool only: in worker threads the umask is only emulated
// (test/support/worker-umask.ts), so mkdir there does not apply it.
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { isMainThread } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ensureSharedDir } from "../../src/state/dirs.js";

vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  return { ...real, chmodSync: vi.fn(real.chmodSync) };
});

const umask = process.umask();
afterEach(() => {
  process.umask(umask);
  vi.mocked(fs.chmodSync).mockClear();
});

describe.skipIf(!isMainThread)("ensureSharedDir's own mkdir", () => {
  it.each([0o077, 0o022])("inside a setgid parent under umask %o: 2775 with no chmod", (mask) => {
    process.umask(mask);
    const root = fs.mkdtempSync(path.join(tmpdir(), "ikdirs-real-"));
    fs.chmodSync(root, 0o2775);
    vi.mocked(fs.chmodSync).mockClear();
    expect(ensureSharedDir(path.join(root, "cache"))).toBe(true);
    expect(fs.statSync(path.join(root, "cache")).mode & 0o7777).toBe(0o2775);
    expect(vi.mocked(fs.chmodSync).mock.calls).toEqual([]);
    expect(process.umask()).toBe(mask);
  });

  it("outside one: a single chmod adds the setgid bit", () => {
    process.umask(0o077);
    const root = fs.mkdtempSync(path.join(tmpdir(), "ikdirs-real-"));
    fs.chmodSync(root, 0o755);
    vi.mocked(fs.chmodSync).mockClear();
    const dir = path.join(root, "cache");
    expect(ensureSharedDir(dir)).toBe(true);
    expect(fs.statSync(dir).mode & 0o7777).toBe(0o2775);
    expect(vi.mocked(fs.chmodSync).mock.calls).toEqual([[dir, 0o2775]]);
  });
});
