// The launcher check: did Node take one of imagekeeper's arguments as its own --env-file? Table of
// /proc/self/cmdline shapes as the launchers produce them (nodejs/node#54232).
import { describe, expect, it } from "vitest";
import { envFileReadByNode, readCmdline } from "../../src/util/node-argv.js";

const S = "/nix/store/x-imagekeeper/libexec/imagekeeper/imagekeeper.mjs";

describe("envFileReadByNode", () => {
  it.each<[string, string[], string[], string | undefined]>([
    [
      "no --: Node read it",
      ["node", S, "prepull", "--env-file", "a.env"],
      ["prepull", "--env-file", "a.env"],
      "--env-file",
    ],
    [
      "no --, = form",
      ["node", S, "env", "--env-file=a.env"],
      ["env", "--env-file=a.env"],
      "--env-file=a.env",
    ],
    [
      "no --, if-exists form",
      ["node", S, "env", "--env-file-if-exists", "a"],
      ["env", "--env-file-if-exists", "a"],
      "--env-file-if-exists",
    ],
    [
      "-- before the script (shebang, wrapper)",
      ["node", "--", S, "prepull", "--env-file", "a.env"],
      ["prepull", "--env-file", "a.env"],
      undefined,
    ],
    [
      "node options, then --",
      ["node", "--max-old-space-size=64", "--", S, "env", "--env-file", "a"],
      ["env", "--env-file", "a"],
      undefined,
    ],
    [
      "node options, no --",
      ["node", "--max-old-space-size=64", S, "env", "--env-file", "a"],
      ["env", "--env-file", "a"],
      "--env-file",
    ],
    ["no --env-file at all", ["node", S, "status", "--json"], ["status", "--json"], undefined],
    [
      "only after a -- among our args (Node stops there)",
      ["node", S, "run", "--", "x", "--env-file", "a"],
      ["run", "--", "x", "--env-file", "a"],
      undefined,
    ],
    [
      "before a -- among our args",
      ["node", S, "env", "--env-file", "a", "--", "x"],
      ["env", "--env-file", "a", "--", "x"],
      "--env-file",
    ],
    ["a script argument equal to --", ["node", "--", S, "--"], ["--"], undefined],
    [
      "our first argument is --: not Node's marker",
      ["node", S, "--", "--env-file", "a"],
      ["--", "--env-file", "a"],
      undefined,
    ],
    [
      "the value only looks like one",
      ["node", S, "env", "--set", "X=--env-file"],
      ["env", "--set", "X=--env-file"],
      undefined,
    ],
    [
      "cmdline does not end with our args (renamed title)",
      ["imagekeeper: prune"],
      ["env", "--env-file", "a"],
      undefined,
    ],
    [
      "cmdline tail differs from argv",
      ["node", S, "env", "--env-file", "b"],
      ["env", "--env-file", "a"],
      undefined,
    ],
    ["no arguments", ["node", S], [], undefined],
  ])("%s", (_what, cmdline, args, want) => {
    expect(envFileReadByNode(cmdline, args)).toBe(want);
  });
});

describe("readCmdline", () => {
  it("splits on NUL and drops the final empty field", () => {
    expect(readCmdline(() => "node\0--\0/x.mjs\0env\0")).toEqual(["node", "--", "/x.mjs", "env"]);
    expect(readCmdline(() => "node\0\0x\0")).toEqual(["node", "", "x"]);
  });
  it("is undefined without /proc", () => {
    expect(
      readCmdline(() => {
        throw new Error("ENOENT");
      }),
    ).toBeUndefined();
  });
});
