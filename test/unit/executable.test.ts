import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findExecutable } from "../../src/util/executable.js";

const root = mkdtempSync(path.join(tmpdir(), "ikexe-"));
const a = path.join(root, "a");
const b = path.join(root, "b");
mkdirSync(a);
mkdirSync(b);
writeFileSync(path.join(a, "tool"), "#!/bin/sh\n", { mode: 0o755 });
writeFileSync(path.join(a, "plain"), "data", { mode: 0o644 });
writeFileSync(path.join(b, "plain"), "#!/bin/sh\n", { mode: 0o755 });
writeFileSync(path.join(a, "only-plain"), "data", { mode: 0o644 });
mkdirSync(path.join(a, "dir"));
chmodSync(path.join(a, "dir"), 0o755);

describe("findExecutable: as execvp would, with a shell's statuses", () => {
  const PATH = `${a}:${b}`;
  it.each([
    ["tool", PATH, { ok: true, path: path.join(a, "tool") }],
    // A non-executable file earlier on PATH does not hide an executable one later.
    ["plain", PATH, { ok: true, path: path.join(b, "plain") }],
    ["abra", PATH, { ok: false, status: 127, why: "was not found on PATH" }],
    ["", PATH, { ok: false, status: 127, why: "is empty" }],
    ["tool", "", { ok: false, status: 127, why: "was not found on PATH" }],
    [path.join(a, "tool"), "", { ok: true, path: path.join(a, "tool") }],
    [
      path.join(a, "missing"),
      PATH,
      { ok: false, status: 127, why: `does not exist (${path.join(a, "missing")})` },
    ],
    [path.join(a, "dir"), PATH, { ok: false, status: 126, why: "is a directory" }],
  ])("%s on %s", (name, envPath, want) => {
    expect(findExecutable(name, envPath)).toEqual(want);
  });

  it("a file without x permission is 126, found but not executable", () => {
    const r = findExecutable("only-plain", PATH);
    // root may execute a file only when some x bit is set, like everyone else.
    expect(r).toEqual({
      ok: false,
      status: 126,
      why: `is not executable (no x permission for this user) (${path.join(a, "only-plain")})`,
    });
    expect(findExecutable(path.join(a, "only-plain"), PATH)).toMatchObject({ ok: false, status: 126 });
  });

  it("a relative path is taken from the working directory", () => {
    expect(findExecutable("./tool", "", a)).toEqual({ ok: true, path: path.join(a, "tool") });
    expect(findExecutable("../a/tool", "", b)).toEqual({ ok: true, path: path.join(a, "tool") });
  });
});
