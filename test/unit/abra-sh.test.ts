// abra.sh exports as abra reads them (envfile.ReadAbraShEnvVars: lines matching
// `^export\s+\w+=\w+`, the text after the last "export " split on "=") and merges them
// (deploy.MergeAbraShEnv: abra.sh wins over the app env). docs/prepull.md "abra.sh".
import { describe, expect, it } from "vitest";
import { abraShVars, mergeAbraSh, parseAbraSh } from "../../src/recipe/abraSh.js";
import { deployEnv, readAppEnv } from "../../src/recipe/appEnv.js";
import { InputError } from "../../src/errors.js";

const read = (text: string) => abraShVars(parseAbraSh(text, "abra.sh"));

describe("which lines count", () => {
  it.each<[string, string, Record<string, string>]>([
    ["a plain export", "export APP_ENTRYPOINT_VERSION=v2", { APP_ENTRYPOINT_VERSION: "v2" }],
    [
      "several, with functions and comments around",
      "#!/bin/bash\n# versions\nexport A=v1\n\nfoo() {\n  echo hi\n}\nexport B=v2\n",
      { A: "v1", B: "v2" },
    ],
    [
      "a value with dots and dashes (starts with a word character)",
      "export NGINX=1.27.1-alpine",
      { NGINX: "1.27.1-alpine" },
    ],
    ["a lower-case name", "export conf_version=v3", { conf_version: "v3" }],
    ["a digit-first value", "export N=3", { N: "3" }],
    ["the last export of a name wins", "export A=v1\nexport A=v2", { A: "v2" }],
    // abra splits on "export " with one blank, so the name keeps the others: compose never sees it
    ["several blanks after export: the name keeps the extra blanks", "export   A=v1", { "  A": "v1" }],
    ["CRLF line ends: the CR is dropped", "export A=v1\r\nexport B=v2\r\n", { A: "v1", B: "v2" }],
    ["a trailing comment is part of the value", "export A=v1 # bump on change", { A: "v1 # bump on change" }],
    ["trailing blanks are part of the value", "export A=v1  ", { A: "v1  " }],
    ["text after the value is kept verbatim", "export A=v1 v2", { A: "v1 v2" }],
    ["a second export on the line: the last one counts", "export A=v1 export B=v2", { B: "v2" }],
  ])("%s", (_n, text, vars) => {
    expect(read(text)).toStrictEqual(vars);
  });

  it.each<[string, string]>([
    ["double-quoted value", 'export A="v1"'],
    ["single-quoted value", "export A='v1'"],
    ["a variable as value", "export A=$B"],
    ["a braced variable", "export A=${B}"],
    ["an empty value", "export A="],
    ["indented (inside a function)", "  export A=v1"],
    ["no export", "A=v1"],
    ["export without a blank", "exportA=v1"],
    ["a commented-out export", "# export A=v1"],
    ["a name with a dash", "export A-B=v1"],
    ["a value starting with a dash", "export A=-v1"],
    ["a value starting with a dot", "export A=.v1"],
    ["a non-ASCII first letter (RE2's \\w is ASCII)", "export A=év1"],
    ["export with no assignment", "export A"],
  ])("ignored: %s", (_n, text) => {
    expect(read(text)).toStrictEqual({});
  });

  it("a second = stops the deploy in abra: bad input naming the file, the line and the fix", () => {
    let caught: unknown;
    try {
      parseAbraSh("export A=v1\nexport B=x=y\n", "/r/abra.sh");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    const err = caught as InputError;
    expect({ kind: err.kind, file: err.file, message: err.message, hint: err.hint }).toStrictEqual({
      kind: "env",
      file: "/r/abra.sh",
      message:
        '/r/abra.sh:2: abra cannot read this export: it splits what follows the last "export " on "=" and needs exactly one "=" there (its deploy stops with "couldn\'t parse")',
      hint: 'abra.sh belongs to the recipe: fix the line there (a config version needs no "="), or resolve another recipe version.',
    });
  });

  it("records each export's line", () => {
    expect(parseAbraSh("# x\nexport A=v1\n\nexport B=v2", "f")).toStrictEqual([
      { name: "A", value: "v1", line: 2 },
      { name: "B", value: "v2", line: 4 },
    ]);
  });
});

describe("merge precedence (abra.sh wins)", () => {
  it.each<[string, Record<string, string>, Record<string, string>, Record<string, string>, string[]]>([
    ["an export adds a key the .env lacks", { A: "1" }, { CONF: "v2" }, { A: "1", CONF: "v2" }, []],
    ["an export replaces the .env's value", { CONF: "v1" }, { CONF: "v2" }, { CONF: "v2" }, ["CONF"]],
    ["the same value is no replacement", { CONF: "v2" }, { CONF: "v2" }, { CONF: "v2" }, []],
    ["an empty .env value is replaced too", { CONF: "" }, { CONF: "v2" }, { CONF: "v2" }, ["CONF"]],
    ["no exports: the .env as it is", { A: "1" }, {}, { A: "1" }, []],
    [
      "the replaced keys are listed sorted, whatever the export order",
      { A: "1", B: "1", M: "1", Z: "1" },
      { Z: "2", B: "2", M: "1", A: "2" },
      { A: "2", B: "2", M: "1", Z: "2" },
      ["A", "B", "Z"],
    ],
  ])("%s", (_n, app, exports, vars, replaced) => {
    expect(mergeAbraSh(app, exports)).toStrictEqual({ vars, overridden: replaced });
  });

  it("--set is part of the .env layer: an abra.sh export still wins over it", () => {
    const base = readAppEnv({ envFile: undefined, set: { CONF: "from-set", X: "1" } });
    const env = deployEnv(base, { source: "abra.sh", vars: { CONF: "v3" } });
    expect(env.vars.CONF).toBe("v3");
    expect(env.vars.X).toBe("1");
    expect(env.abraSh?.replaced).toStrictEqual(["CONF"]);
    expect(env.overridden).toStrictEqual(["CONF", "X"]);
  });

  it("STACK_NAME comes after the merge, from DOMAIN, unless given", () => {
    const base = readAppEnv({ envFile: undefined, set: { DOMAIN: "a.example.org" } });
    expect(deployEnv(base, { source: "abra.sh", vars: {} }).vars.STACK_NAME).toBe("a_example_org");
    expect(deployEnv(base, { source: "abra.sh", vars: { STACK_NAME: "s" } }).vars.STACK_NAME).toBe("s");
  });
});
