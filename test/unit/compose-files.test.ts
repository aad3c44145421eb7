// COMPOSE_FILE as abra reads it: ':'-separated paths relative to the recipe, in order; empty
// entries name nothing; unset or empty means compose.yml. A path outside the recipe or a missing
// file is bad input (exit 2) naming the env file and the fix.
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { checkComposeFiles, composeFileList } from "../../src/recipe/composeFiles.js";

describe("composeFileList", () => {
  it.each([
    [{}, ["compose.yml"]],
    [{ COMPOSE_FILE: "" }, ["compose.yml"]],
    [{ COMPOSE_FILE: "compose.yml" }, ["compose.yml"]],
    // ':' separates, in the order written; ',' is part of a name (abra does not split on it).
    [{ COMPOSE_FILE: "compose.yml:compose.smtp.yml" }, ["compose.yml", "compose.smtp.yml"]],
    [{ COMPOSE_FILE: "compose.smtp.yml:compose.yml" }, ["compose.smtp.yml", "compose.yml"]],
    [{ COMPOSE_FILE: "compose.yml,compose.smtp.yml" }, ["compose.yml,compose.smtp.yml"]],
    // Empty entries ("$COMPOSE_FILE:x" with nothing set before) name no file.
    [{ COMPOSE_FILE: ":compose.smtp.yml" }, ["compose.smtp.yml"]],
    [{ COMPOSE_FILE: "compose.yml::compose.smtp.yml:" }, ["compose.yml", "compose.smtp.yml"]],
    [{ COMPOSE_FILE: " : " }, ["compose.yml"]],
    [{ COMPOSE_FILE: ":" }, ["compose.yml"]],
    // Other variables do not matter.
    [{ COMPOSE_FILES: "x.yml", DOMAIN: "a.example" }, ["compose.yml"]],
  ])("%j → %j", (vars, files) => {
    expect(composeFileList(vars)).toEqual(files);
  });
});

describe("checkComposeFiles", () => {
  const present = new Set(["compose.yml", "compose.smtp.yml", "sub/compose.x.yml"]);
  const exists = (f: string) => present.has(f);
  const check = (files: string[], envFile: string | undefined) => {
    try {
      checkComposeFiles(files, "/recipes/app", exists, envFile);
      return "ok";
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return e;
    }
  };

  it("accepts files inside the recipe that exist", () => {
    expect(check(["compose.yml", "compose.smtp.yml", "sub/compose.x.yml"], "/apps/a.env")).toBe("ok");
    // A name that starts with two dots is not a parent reference: only a component ".." is.
    expect(
      checkComposeFiles(["..compose.yml", "..d/x.yml", "sub/../compose.yml"], "/r", () => true, "/a.env"),
    ).toBeUndefined();
    expect(check([], undefined)).toBe("ok");
  });

  it.each([
    "../x.yml",
    "../app/compose.yml",
    "sub/../../x.yml",
    "./../x.yml",
    "../..compose.yml",
    "/etc/compose.yml",
    "/recipes/app/compose.yml",
    "..",
  ])("%s is not a path inside the recipe", (f) => {
    const e = check([f], "/apps/a.env") as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.kind).toBe("compose");
    expect(e.message).toBe(`COMPOSE_FILE names "${f}", which is not a path inside the recipe`);
    expect(e.file).toBe("/apps/a.env");
    expect(e.hint).toContain("separated by ':'");
  });

  it("checks every file, not only the first", () => {
    const e = check(["compose.yml", "compose.missing.yml"], "/apps/a.env") as InputError;
    expect(e.message).toContain('"compose.missing.yml"');
    const outside = check(["compose.yml", "../x.yml"], "/apps/a.env") as InputError;
    expect(outside.message).toContain('"../x.yml"');
  });

  it("a missing file from COMPOSE_FILE names the env file and says to fix it there", () => {
    const e = check(["compose.missing.yml"], "/apps/a.env") as InputError;
    expect(e.kind).toBe("compose");
    expect(e.file).toBe("/apps/a.env");
    expect(e.message).toBe(
      'the compose file "compose.missing.yml" (from COMPOSE_FILE) does not exist in the recipe directory /recipes/app',
    );
    expect(e.hint).toBe(
      "Fix COMPOSE_FILE in /apps/a.env (files separated by ':', relative to the recipe), or check out the recipe version that has it.",
    );
  });

  it("a missing default compose.yml says to pass the env file", () => {
    const e = check(["compose.missing.yml"], undefined) as InputError;
    expect(e.file).toBeUndefined();
    expect(e.message).toBe(
      'the compose file "compose.missing.yml" (from the default) does not exist in the recipe directory /recipes/app',
    );
    expect(e.hint).toBe(
      "Pass --env-file with the app's .env (its COMPOSE_FILE lists the files), or add compose.yml to the recipe.",
    );
    const outside = check(["/x.yml"], undefined) as InputError;
    expect(outside.file).toBeUndefined();
  });

  it("names the place it looked, when the caller says", () => {
    try {
      checkComposeFiles(["nope.yml"], "/r", () => false, undefined, "the recipe at v1.2.0");
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain("does not exist in the recipe at v1.2.0");
    }
  });
});
