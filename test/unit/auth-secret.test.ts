// Reading the registry token from a file: one trailing line break dropped, empty or multi-line
// refused, a file others can read warned about, and errors that name the file, never its content.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readSecret } from "../../src/auth/secret.js";
import { InputError } from "../../src/errors.js";

const dir = mkdtempSync(path.join(tmpdir(), "ik-secret-"));
let n = 0;
const file = (text: string, mode = 0o600) => {
  const f = path.join(dir, `t${n++}`);
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
};
const fail = (source: string, stdin: { isTTY?: boolean } = {}) => {
  try {
    readSecret(source, stdin);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("no error");
};

describe("readSecret", () => {
  it.each([
    ["dckr_pat_x", "dckr_pat_x"],
    ["dckr_pat_x\n", "dckr_pat_x"],
    ["dckr_pat_x\r\n", "dckr_pat_x"],
    ["  spaced  \n", "  spaced  "],
  ])("%j → %j", (text, value) => {
    expect(readSecret(file(text))).toEqual({ value, warnings: [] });
  });

  it.each([
    ["", "is empty"],
    ["\n", "is empty"],
    ["\r\n", "is empty"],
    ["dckr_pat_x\n\n", "holds more than one line"],
    ["dckr_pat_x\nsecond", "holds more than one line"],
    ["dckr_pat_x\rsecond", "holds more than one line"],
  ])("%j: %s", (text, why) => {
    const f = file(text);
    const e = fail(f);
    expect(e.message).toBe(`the password file ${f} ${why}`);
    expect([e.kind, e.file]).toEqual(["credentials", f]);
    expect(e.hint).toMatch(/chmod 600/);
    expect(e.message).not.toContain("dckr_pat_x");
  });

  it.each([
    [0o600, null],
    [0o400, null],
    [0o640, "640"],
    [0o604, "604"],
    [0o644, "644"],
  ])("mode %o: warning %s", (mode, shown) => {
    const f = file("dckr_pat_x", mode);
    const s = readSecret(f);
    expect(s.value).toBe("dckr_pat_x");
    expect(s.warnings).toEqual(
      shown ? [`the password file ${f} is readable by others (mode ${shown}): chmod 600 it`] : [],
    );
  });

  it("a directory is not a password file", () => {
    const d = path.join(dir, "d");
    mkdirSync(d);
    const e = fail(d);
    expect(e.message).toBe(`the password file ${d} is not a regular file`);
    expect([e.kind, e.file]).toEqual(["credentials", d]);
  });

  it("a missing file: its name and the error code", () => {
    const f = path.join(dir, "missing");
    const e = fail(f);
    expect(e.message).toBe(`cannot read the password file ${f}: ENOENT`);
    expect([e.kind, e.file]).toEqual(["credentials", f]);
    expect(e.hint).toMatch(/--password-file FILE/);
  });

  it("stdin that is a terminal is refused before reading", () => {
    const e = fail("-", { isTTY: true });
    expect(e.kind).toBe("usage");
    expect(e.message).toBe("--password-file - reads the token from stdin, which is a terminal");
    expect(e.hint).toMatch(/--password-file - < FILE/);
  });
});
