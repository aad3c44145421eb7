// The variables a deploy sees, from the app's .env (as abra reads it), --set, and STACK_NAME:
// which value wins, where each key was set, and what is reported as overridden.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { deployEnv, loadAppEnv, readAppEnv } from "../../src/recipe/appEnv.js";

const dir = mkdtempSync(path.join(tmpdir(), "ik-appenv-"));
const envFile = path.join(dir, "a.example.org.env");
writeFileSync(envFile, ["DOMAIN=a.example.org", "X=1", "X=2", "Y=${FROM_PROCESS}", ""].join("\n"));

describe("readAppEnv: the .env layer", () => {
  it("the file's last assignment of each key, its line, $VAR from the process environment", () => {
    const e = readAppEnv({ envFile, set: {}, processEnv: { FROM_PROCESS: "p" } });
    expect(e).toEqual({
      vars: { DOMAIN: "a.example.org", X: "2", Y: "p" },
      file: envFile,
      overridden: [],
      lines: { DOMAIN: 1, X: 3, Y: 4 },
    });
  });

  it("--set adds and overrides keys, reported sorted; the lines stay the file's", () => {
    const e = readAppEnv({ envFile, set: { X: "9", B: "b", A: "a" }, processEnv: {} });
    expect(e.vars).toEqual({ DOMAIN: "a.example.org", X: "9", Y: "", B: "b", A: "a" });
    expect(e.overridden).toEqual(["A", "B", "X"]);
    expect(e.lines).toEqual({ DOMAIN: 1, X: 3, Y: 4 });
  });

  it("a relative env file is reported by its absolute path", () => {
    const rel = path.relative(process.cwd(), envFile);
    expect(readAppEnv({ envFile: rel, set: {}, processEnv: {} }).file).toBe(envFile);
  });

  it("no env file: only --set, no file, no lines", () => {
    expect(readAppEnv({ envFile: undefined, set: { A: "1" } })).toEqual({
      vars: { A: "1" },
      file: undefined,
      overridden: ["A"],
      lines: {},
    });
  });
});

describe("deployEnv / loadAppEnv: STACK_NAME", () => {
  it.each([
    [{ DOMAIN: "a.example.org" }, "a_example_org"],
    [{ DOMAIN: "a.example.org", STACK_NAME: "given" }, "given"],
    [{ DOMAIN: "a.example.org", STACK_NAME: "" }, ""],
    [{ DOMAIN: "" }, undefined],
    [{}, undefined],
  ])("%j → %s", (vars, stack) => {
    const e = deployEnv({ vars, file: undefined, overridden: [], lines: {} });
    expect(e.vars.STACK_NAME).toBe(stack);
    expect(e.abraSh).toBeUndefined();
  });

  it("the .env layer it came from is not changed", () => {
    const base = readAppEnv({ envFile: undefined, set: { DOMAIN: "a.b" } });
    const e = deployEnv(base);
    expect(e.vars).toEqual({ DOMAIN: "a.b", STACK_NAME: "a_b" });
    expect(base.vars).toEqual({ DOMAIN: "a.b" });
  });

  it("loadAppEnv: the .env layer and STACK_NAME, no abra.sh", () => {
    const e = loadAppEnv({ envFile, set: { X: "3" }, processEnv: {} });
    expect(e.vars).toEqual({ DOMAIN: "a.example.org", X: "3", Y: "", STACK_NAME: "a_example_org" });
    expect(e.overridden).toEqual(["X"]);
    expect(e.file).toBe(envFile);
    expect("abraSh" in e).toBe(false);
  });

  it("with abra.sh: its source, exports and the keys it replaced are reported", () => {
    const base = readAppEnv({ envFile: undefined, set: { A: "1", B: "2" } });
    const e = deployEnv(base, { source: "abra.sh at 1.0.0", vars: { A: "x", C: "3" } });
    expect(e.abraSh).toEqual({ source: "abra.sh at 1.0.0", vars: { A: "x", C: "3" }, replaced: ["A"] });
    expect(e.vars).toEqual({ A: "x", B: "2", C: "3" });
  });
});
