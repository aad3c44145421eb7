// Reading the registry token from a file: one trailing line break dropped, empty or multi-line
// refused, a file others can read warned about, and errors that name the file, never its content.
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
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
/** A stand-in for a piped stdin: a file holding `text`, opened (the caller closes it). */
const piped = (text: string) => ({ isTTY: false, fd: openSync(file(text), "r") });
const fail = (source: string, stdin: { isTTY?: boolean; fd: number } = { fd: -1 }) => {
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

  it.each([
    ["dckr_pat_x\n", "dckr_pat_x"],
    ["dckr_pat_x", "dckr_pat_x"],
  ])("stdin piped %j → %j, with the same rules as a file", (text, value) => {
    const stdin = piped(text);
    expect(readSecret("-", stdin)).toEqual({ value, warnings: [] });
    closeSync(stdin.fd);
  });

  it.each([
    ["", "stdin is empty"],
    ["\n", "stdin is empty"],
    ["a\nb\n", "stdin holds more than one line"],
  ])("stdin piped %j is refused: %s", (text, message) => {
    const stdin = piped(text);
    const e = fail("-", stdin);
    closeSync(stdin.fd);
    expect([e.kind, e.message, e.file]).toEqual(["credentials", message, "-"]);
  });

  it("stdin that is a terminal is refused before reading", () => {
    // fd -1: reading it would fail with EBADF, so the refusal comes first.
    const e = fail("-", { isTTY: true, fd: -1 });
    expect(e.kind).toBe("usage");
    expect(e.message).toBe("--password-file - reads the token from stdin, which is a terminal");
    expect(e.hint).toMatch(/--password-file - < FILE/);
  });
});
