// The pin in an app .env (TYPE/RECIPE=name:version) and the version choice made from it and the
// flags, as abra makes it (docs/prepull.md "Which version").
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { recipeName } from "../../src/recipe/appEnv.js";
import { describePinSource, parsePin, type Pin } from "../../src/recipe/pin.js";
import { chooseVersion } from "../../src/recipe/version.js";

const FILE = "/srv/app.env";
const LINES = { TYPE: 1, RECIPE: 4, DOMAIN: 2 };
const pin = (vars: Record<string, string>, fromSet: string[] = []) =>
  parsePin(vars, { file: FILE, lines: LINES, fromSet });

describe("parsePin", () => {
  it.each<[string, Record<string, string>, Omit<Pin, "source"> | undefined]>([
    [
      "TYPE with a version",
      { TYPE: "gitea:3.1.0+1.22.1" },
      { recipe: "gitea", version: "3.1.0+1.22.1", chaosDirty: false },
    ],
    [
      "a version with + and - (bonfire)",
      { TYPE: "bonfire:1.0.0+1.0.5-social-amd64" },
      { recipe: "bonfire", version: "1.0.0+1.0.5-social-amd64", chaosDirty: false },
    ],
    ["TYPE without a version", { TYPE: "gitea" }, { recipe: "gitea", version: undefined, chaosDirty: false }],
    [
      "an empty version after the colon",
      { TYPE: "gitea:" },
      { recipe: "gitea", version: undefined, chaosDirty: false },
    ],
    [
      "RECIPE wins over TYPE",
      { TYPE: "old:1.0.0", RECIPE: "new:2.0.0" },
      { recipe: "new", version: "2.0.0", chaosDirty: false },
    ],
    [
      "RECIPE without a version still wins",
      { TYPE: "old:1.0.0", RECIPE: "new" },
      { recipe: "new", version: undefined, chaosDirty: false },
    ],
    [
      "an empty RECIPE falls back to TYPE",
      { TYPE: "old:1.0.0", RECIPE: "" },
      { recipe: "old", version: "1.0.0", chaosDirty: false },
    ],
    [
      "a recipe named by its repository path",
      { TYPE: "git.example.org/coop/app:1.2.0+3" },
      { recipe: "git.example.org/coop/app", version: "1.2.0+3", chaosDirty: false },
    ],
    [
      "a commit written by a --chaos deploy",
      { TYPE: "gitea:eb96de94" },
      { recipe: "gitea", version: "eb96de94", chaosDirty: false },
    ],
    [
      "a --chaos deploy of uncommitted changes",
      { TYPE: "gitea:eb96de94+U" },
      { recipe: "gitea", version: "eb96de94+U", chaosDirty: true },
    ],
    [
      "+U only counts at the end",
      { TYPE: "gitea:1.0.0+U1" },
      { recipe: "gitea", version: "1.0.0+U1", chaosDirty: false },
    ],
    ["neither key", { DOMAIN: "x.example.org" }, undefined],
  ])("%s", (_n, vars, want) => {
    const got = pin(vars);
    if (want === undefined) expect(got).toBeUndefined();
    else
      expect({ recipe: got?.recipe, version: got?.version, chaosDirty: got?.chaosDirty }).toStrictEqual(want);
  });

  it("names the key, file and line the pin came from", () => {
    expect(pin({ TYPE: "a:1" })?.source).toStrictEqual({ key: "TYPE", file: FILE, line: 1 });
    expect(pin({ TYPE: "a:1", RECIPE: "b:2" })?.source).toStrictEqual({ key: "RECIPE", file: FILE, line: 4 });
    expect(describePinSource(pin({ TYPE: "a:1" })!.source)).toBe("TYPE in /srv/app.env line 1");
  });

  it("a key given with --set names --set, not the file", () => {
    const p = pin({ TYPE: "a:1" }, ["TYPE"]);
    expect(p?.source).toStrictEqual({ key: "TYPE", file: undefined, line: undefined });
    expect(describePinSource(p!.source)).toBe("--set TYPE");
  });

  it("more than one colon is bad input naming the key and the file, as abra refuses it", () => {
    const e = (() => {
      try {
        pin({ TYPE: "gitea:1.0:2" });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(/TYPE in \/srv\/app\.env line 1 is "gitea:1\.0:2"/);
    expect((e as InputError).file).toBe(FILE);
    // The example keeps the name and the last part.
    expect((e as InputError).hint).toBe("Write TYPE=NAME or TYPE=NAME:VERSION, e.g. TYPE=gitea:2.");
  });

  it("a pin source: the file without a line when the line is unknown", () => {
    expect(describePinSource({ key: "RECIPE", file: "/srv/app.env", line: undefined })).toBe(
      "RECIPE in /srv/app.env",
    );
  });
});

describe("recipeName", () => {
  it.each<[Record<string, string>, string]>([
    [{ TYPE: "gitea:1.0.0" }, "gitea"],
    [{ RECIPE: "new:1", TYPE: "old:2" }, "new"],
    [{ TYPE: ":1.0.0" }, "dirname"],
    [{}, "dirname"],
  ])("%j → %s", (vars, want) => {
    expect(recipeName(vars, "/recipes/dirname")).toBe(want);
  });
});

describe("chooseVersion", () => {
  const pinned = pin({ TYPE: "gitea:1.0.0+1.21" });
  const bare = pin({ TYPE: "gitea" });
  const dirty = pin({ TYPE: "gitea:abc1234+U" });
  it.each<
    [string, { chaos: boolean; ref: string | undefined; pin: Pin | undefined }, string, string | undefined]
  >([
    ["the pin by default", { chaos: false, ref: undefined, pin: pinned }, "pinned", "1.0.0+1.21"],
    ["--ref overrides the pin", { chaos: false, ref: "2.0.0+1.22", pin: pinned }, "ref", "2.0.0+1.22"],
    ["--chaos overrides the pin", { chaos: true, ref: undefined, pin: pinned }, "chaos", undefined],
    [
      "no version in TYPE: the working tree",
      { chaos: false, ref: undefined, pin: bare },
      "working-tree",
      undefined,
    ],
    [
      "no TYPE at all: the working tree",
      { chaos: false, ref: undefined, pin: undefined },
      "working-tree",
      undefined,
    ],
    ["--ref without a pin", { chaos: false, ref: "main", pin: undefined }, "ref", "main"],
    ["--chaos takes a +U pin", { chaos: true, ref: undefined, pin: dirty }, "chaos", undefined],
    ["--ref takes over from a +U pin", { chaos: false, ref: "1.0.0", pin: dirty }, "ref", "1.0.0"],
  ])("%s", (_n, o, source, version) => {
    const c = chooseVersion(o);
    expect(c.source).toBe(source);
    expect(c.version).toBe(version);
  });

  it.each<[string, { chaos: boolean; ref: string | undefined; pin: Pin | undefined }, RegExp]>([
    ["--chaos with --ref", { chaos: true, ref: "1.0.0", pin: undefined }, /--chaos and --ref contradict/],
    [
      "a +U pin without --chaos",
      { chaos: false, ref: undefined, pin: dirty },
      /abc1234\+U.*only with --chaos/,
    ],
    [
      "a --ref that git would take for an option",
      { chaos: false, ref: "--output=x", pin: undefined },
      /not a git revision/,
    ],
    ["a --ref with a blank", { chaos: false, ref: "1.0 2", pin: undefined }, /not a git revision/],
  ])("bad input: %s", (_n, o, msg) => {
    expect(() => chooseVersion(o)).toThrow(InputError);
    expect(() => chooseVersion(o)).toThrow(msg);
  });
});

// The exact errors chooseVersion gives (the text is what a user reads).
describe("chooseVersion errors, exactly", () => {
  const failure = (o: { chaos: boolean; ref: string | undefined; pin: Pin | undefined }) => {
    try {
      chooseVersion(o);
    } catch (e) {
      return e as InputError;
    }
    throw new Error("chooseVersion did not throw");
  };

  it("--chaos with --ref", () => {
    const e = failure({ chaos: true, ref: "1.0.0", pin: undefined });
    expect([e.kind, e.message, e.file]).toEqual([
      "usage",
      "--chaos and --ref contradict each other",
      undefined,
    ]);
    expect(e.hint).toBe(
      "--chaos resolves the working tree as it is; --ref VERSION resolves a version from git. Pass one.",
    );
  });

  it("a --ref git would take for an option names the flag", () => {
    const e = failure({ chaos: false, ref: "--output=x", pin: undefined });
    expect([e.kind, e.message]).toEqual(["usage", '--ref "--output=x" is not a git revision']);
  });

  it("a +U pin without --chaos: the file, the pin and the way out", () => {
    const e = failure({ chaos: false, ref: undefined, pin: pin({ RECIPE: "gitea:abc1234+U" }) });
    expect([e.kind, e.file]).toEqual(["env", FILE]);
    expect(e.message).toBe(
      "RECIPE in /srv/app.env line 4 pins gitea:abc1234+U, the mark abra leaves after a --chaos deploy of a tree with uncommitted changes: abra redeploys that only with --chaos",
    );
    expect(e.hint).toBe(
      "Pass --chaos (the working tree, as 'abra app deploy --chaos' takes it), --ref VERSION, or pin a release in RECIPE=gitea:VERSION.",
    );
  });

  it("a +U pin from --set names no file", () => {
    const e = failure({ chaos: false, ref: undefined, pin: pin({ TYPE: "gitea:abc1234+U" }, ["TYPE"]) });
    expect(e.message).toMatch(/^--set TYPE pins gitea:abc1234\+U, /);
    expect(e.file).toBeUndefined();
  });
});
