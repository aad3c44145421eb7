import { describe, expect, it } from "vitest";
import { checkOptions, scanArgv } from "../../src/commands/argv.js";
import { didYouMean, editDistance, suggest } from "../../src/util/suggest.js";

const isGroup = (w: string) => ["lease", "auth", "config"].includes(w);

describe("scanArgv: global options before the command, the command words, the rest", () => {
  it.each([
    [["prune"], {}, ["prune"], []],
    [["--config", "f.json", "prune", "--dry-run"], { config: "f.json" }, ["prune"], ["--dry-run"]],
    [
      ["--config=f.json", "-q", "--json", "status"],
      { config: "f.json", quiet: true, json: true },
      ["status"],
      [],
    ],
    [
      ["--log-level", "debug", "lease", "acquire", "--ttl", "1h"],
      { "log-level": "debug" },
      ["lease", "acquire"],
      ["--ttl", "1h"],
    ],
    [["lease", "--json", "release", "x"], { json: true }, ["lease", "release"], ["x"]],
    [["lease"], {}, ["lease"], []],
    [["lease", "--help"], { help: true }, ["lease"], []],
    [["run", "--", "prune", "--json"], {}, ["run"], ["--", "prune", "--json"]],
    [["help", "lease", "acquire"], {}, ["help"], ["lease", "acquire"]],
    [["-h"], { help: true }, [], []],
    [["-V"], { version: true }, [], []],
    [[], {}, [], []],
    [["--", "x"], {}, [], ["--", "x"]],
  ])("%j", (argv, globals, words, rest) => {
    expect(scanArgv(argv, isGroup)).toEqual({ globals, words, rest });
  });

  it.each([
    [["--recipe", "x", "prepull"], /unknown option --recipe\./],
    [["--confg", "f", "prune"], /unknown option --confg\. Did you mean "--config"\?/],
    [["--jsno", "prune"], /Did you mean "--json"\?/],
    [["-x", "prune"], /unknown option -x\.$/],
    [["--config"], /--config needs a value/],
    [["--quiet=yes", "status"], /--quiet takes no value/],
  ])("%j is a usage error", (argv, message) => {
    expect(() => scanArgv(argv, isGroup)).toThrow(message);
  });

  it("says where a command's own option goes", () => {
    try {
      scanArgv(["--dry-run", "prune"], isGroup);
      expect.unreachable();
    } catch (e) {
      expect((e as { hint: string }).hint).toMatch(/a command's own options go after it/);
    }
  });
});

describe("checkOptions", () => {
  const options = {
    recipe: { type: "string" as const },
    "dry-run": { type: "boolean" as const },
    json: { type: "boolean" as const },
    password: { type: "string" as const, hidden: true },
    quiet: { type: "boolean" as const, short: "q" },
  };
  it.each([
    [["--recipe", "--not-an-option", "--dry-run"]],
    [["--recipe=x", "-q", "positional"]],
    [["--password", "p"]],
    [[]],
  ])("accepts %j", (args) => {
    expect(() => checkOptions(args, options, "prepull")).not.toThrow();
  });
  it.each([
    [["--dryrun"], /imagekeeper prepull: unknown option --dryrun\. Did you mean "--dry-run"\?/],
    [["--recipie", "x"], /Did you mean "--recipe"\?/],
    [["--passwrd", "x"], /unknown option --passwrd\.$/],
    [["-z"], /unknown option -z\./],
  ])("refuses %j", (args, message) => {
    expect(() => checkOptions(args, options, "prepull")).toThrow(message);
  });
});

describe("suggest", () => {
  const commands = [
    "env",
    "images",
    "prepull",
    "run",
    "lease",
    "prune",
    "status",
    "history",
    "doctor",
    "auth",
    "config",
    "completion",
    "help",
    "version",
  ];
  it.each([
    ["prepul", ["prepull"]],
    ["purne", ["prune"]],
    ["prnue", ["prune"]],
    ["stauts", ["status"]],
    ["pre", ["prepull"]],
    ["histroy", ["history"]],
    ["leas", ["lease"]],
    ["docter", ["doctor"]],
    ["comp", ["completion"]],
    ["rn", ["run"]],
    ["xyz", []],
    ["p", []],
    ["prune", []],
    ["PRUNE", []],
  ])("%s → %j", (input, want) => {
    expect(suggest(input, commands)).toEqual(want);
  });
  it("orders by distance, then by name, at most three", () => {
    expect(suggest("ab", ["ab1", "abc", "zz", "a", "b"])).toEqual(["a", "ab1", "abc"]);
  });
  it.each([
    ["", "", 0],
    ["abc", "abc", 0],
    ["abc", "acb", 1],
    ["abc", "abd", 1],
    ["abc", "ab", 1],
    ["kitten", "sitting", 3],
    ["ca", "abc", 3],
  ])("editDistance(%j, %j) = %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
  it.each([
    [[], ""],
    [["a"], ' Did you mean "a"?'],
    [["a", "b"], ' Did you mean "a" or "b"?'],
    [["a", "b", "c"], ' Did you mean "a", "b" or "c"?'],
  ])("didYouMean(%j)", (opts, text) => {
    expect(didYouMean(opts)).toBe(text);
  });
});
