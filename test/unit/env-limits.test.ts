// The execve(2) limits applied to the app env before `docker stack config` is spawned
// (src/recipe/envLimits.ts), at their exact boundaries. The kernel's own answer at the same
// boundaries is checked end to end in test/integration/env-limits.itg.test.ts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { bundleScript } from "../support/bundle.js";
import {
  argSpace,
  checkExecEnv,
  type EnvSource,
  MAX_ARG_STRLEN,
  parseStackLimit,
} from "../../src/recipe/envLimits.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const env = (vars: Record<string, string>, overridden: string[] = []) => ({
  vars,
  file: "/ci/app.env",
  overridden,
});
const DOCKER = "/usr/local/bin/docker";
const ARGS = ["stack", "config", "--compose-file", "compose.yml"];

function thrown(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("did not throw");
}

describe("argSpace: the kernel's room for argv and environment strings", () => {
  it.each<[string, number, number]>([
    ["the default 8 MiB stack: a quarter", 8 * MiB, 2 * MiB],
    ["a 16 MiB stack: a quarter", 16 * MiB, 4 * MiB],
    ["a 24 MiB stack: capped at 3/4 of 8 MiB", 24 * MiB, 6 * MiB],
    ["an unlimited stack: capped", Number.POSITIVE_INFINITY, 6 * MiB],
    ["a tiny stack: never below 128 KiB", 256 * KiB, 128 * KiB],
    ["just above the floor", 4 * 128 * KiB + 4, 128 * KiB + 1],
    ["a stack limit not divisible by 4 rounds down", 8 * MiB + 3, 2 * MiB],
  ])("%s", (_what, stack, want) => {
    expect(argSpace(stack)).toBe(want);
  });
});

describe("parseStackLimit", () => {
  it.each<[string, string, number | undefined]>([
    [
      "a real /proc/self/limits line",
      "Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax stack size            8388608              unlimited            bytes     \n",
      8 * MiB,
    ],
    [
      "unlimited",
      "Max stack size            unlimited            unlimited            bytes     \n",
      Number.POSITIVE_INFINITY,
    ],
    [
      "the label must start a line",
      "Soft Max stack size      8388608              unlimited            bytes     \n",
      undefined,
    ],
    [
      "missing",
      "Max cpu time              unlimited            unlimited            seconds   \n",
      undefined,
    ],
  ])("%s", (_what, text, want) => {
    expect(parseStackLimit(text)).toBe(want);
  });
});

describe("checkExecEnv: one variable", () => {
  // NAME=value plus its NUL: "BIG=" is 4 bytes, so a value of MAX_ARG_STRLEN - 5 bytes is the
  // longest that fits.
  const longest = MAX_ARG_STRLEN - "BIG=".length - 1;
  it("accepts a NAME=value of exactly MAX_ARG_STRLEN bytes with its NUL", () => {
    expect(MAX_ARG_STRLEN).toBe(131_072);
    expect(() => checkExecEnv(env({ BIG: "x".repeat(longest) }), DOCKER, ARGS, 8 * MiB)).not.toThrow();
  });
  it("refuses one byte more, naming the variable, the file and the limit", () => {
    const e = thrown(() => checkExecEnv(env({ BIG: "x".repeat(longest + 1) }), DOCKER, ARGS, 8 * MiB));
    expect(e.kind).toBe("env");
    expect(e.file).toBe("/ci/app.env");
    expect(e.message).toContain("BIG in /ci/app.env");
    expect(e.message).toContain("131072");
    expect(e.hint).toContain(`at most ${longest} bytes`);
  });
  it("counts bytes, not characters (UTF-8)", () => {
    const chars = Math.floor(longest / 3); // "€" is 3 bytes
    expect(() => checkExecEnv(env({ BIG: "€".repeat(chars) }), DOCKER, ARGS, 8 * MiB)).not.toThrow();
    expect(() => checkExecEnv(env({ BIG: "€".repeat(chars + 1) }), DOCKER, ARGS, 8 * MiB)).toThrow(
      InputError,
    );
  });
  it("a 1 MB value is refused whatever the stack limit", () => {
    const e = thrown(() =>
      checkExecEnv(env({ CERT: "x".repeat(1_000_000) }), DOCKER, ARGS, Number.POSITIVE_INFINITY),
    );
    expect(e.message).toContain("CERT");
    expect(e.message).toContain("1000000 bytes");
  });
  it("names --set as the source of a variable given there", () => {
    const e = thrown(() =>
      checkExecEnv(env({ V: "x".repeat(MAX_ARG_STRLEN) }, ["V"]), DOCKER, ARGS, 8 * MiB),
    );
    expect(e.message).toContain("V given with --set");
  });
  it("names abra.sh as the source of a variable it exported", () => {
    const e = thrown(() =>
      checkExecEnv(
        {
          ...env({ V: "x".repeat(MAX_ARG_STRLEN) }),
          abraSh: { source: "abra.sh at 1.2.0", vars: { V: "x" } },
        },
        DOCKER,
        ARGS,
        8 * MiB,
      ),
    );
    expect(e.message).toContain("V exported by abra.sh at 1.2.0");
  });
  it.each<[string, Record<string, string>]>([
    ["a NUL in a value", { A: "x\0y" }],
    ["a NUL in a name", { "A\0B": "x" }],
    ["= in a name", { "A=B": "x" }],
    ["an empty name", { "": "x" }],
  ])("refuses %s", (_what, vars) => {
    expect(thrown(() => checkExecEnv(env(vars), DOCKER, ARGS, 8 * MiB)).kind).toBe("env");
  });
});

describe("checkExecEnv: all strings together", () => {
  // With a 512 KiB stack the room is 128 KiB (the floor), so a handful of variables reach it.
  const stack = 512 * KiB;
  const room = 128 * KiB;
  /** Variables V0…V{n-1}, the last one padded so that everything takes exactly `total` bytes. */
  function filling(total: number, n = 4): Record<string, string> {
    const vars: Record<string, string> = {};
    const strings = [DOCKER, DOCKER, ...ARGS];
    let used = strings.reduce((s, x) => s + Buffer.byteLength(x) + 1, 0);
    used += (ARGS.length + 1 + n) * 8; // the pointers
    for (let i = 0; i < n; i++) {
      const fixed = `V${i}=`.length + 1;
      const len = i < n - 1 ? 20_000 : total - used - fixed;
      vars[`V${i}`] = "y".repeat(len);
      used += fixed + len;
    }
    expect(used).toBe(total);
    return vars;
  }
  it("accepts exactly the kernel's room", () => {
    const r = checkExecEnv(env(filling(room)), DOCKER, ARGS, stack);
    expect(r.usedBytes + (ARGS.length + 1 + 4) * 8).toBe(room);
  });
  it("refuses one byte more, naming the largest variables", () => {
    const e = thrown(() => checkExecEnv(env(filling(room + 1)), DOCKER, ARGS, stack));
    expect(e.message).toContain("too large");
    expect(e.message).toMatch(/largest: V3 \(\d+ bytes, in \/ci\/app\.env\), V0/);
  });
  // 4 variables: V3 is the largest (70901 bytes), V0…V2 take 20000 each; only three are named, the
  // ties by name.
  const TOO_LARGE_HINT =
    "Keep large data out of the app .env (e.g. in a file the service reads), or raise the stack limit of the calling process (ulimit -s).";
  it.each<[string, string | undefined, string]>([
    [
      "from a file",
      "/ci/app.env",
      "the app env of /ci/app.env is too large to hand to 'docker stack config': with its arguments it takes 131001 bytes, and Linux allows 131000 here (a quarter of the stack limit, at most 6 MiB, less a pointer per string); largest: V3 (70901 bytes, in /ci/app.env), V0 (20000 bytes, in /ci/app.env), V1 (20000 bytes, in /ci/app.env)",
    ],
    [
      "no file",
      undefined,
      "the app env is too large to hand to 'docker stack config': with its arguments it takes 131001 bytes, and Linux allows 131000 here (a quarter of the stack limit, at most 6 MiB, less a pointer per string); largest: V3 (70901 bytes, in the app env), V0 (20000 bytes, in the app env), V1 (20000 bytes, in the app env)",
    ],
  ])("the exact message, %s", (_what, file, message) => {
    const e = thrown(() => checkExecEnv({ ...env(filling(room + 1)), file }, DOCKER, ARGS, stack));
    expect({ file: e.file, message: e.message, hint: e.hint }).toStrictEqual({
      file,
      message,
      hint: TOO_LARGE_HINT,
    });
  });
  it("counts one pointer per string: one variable more of the same bytes no longer fits", () => {
    const vars = filling(room);
    const v3 = vars.V3!;
    // Same string bytes (V3 shortened by what "E=" and its NUL take), one pointer more.
    const more = { ...vars, V3: v3.slice(3), E: "" };
    expect(() => checkExecEnv(env(more), DOCKER, ARGS, stack)).toThrow(InputError);
  });
});

// Each distinct error a user reads, exactly (the message is the product), with and without a file.
describe("checkExecEnv: the messages, exactly", () => {
  const BAD_NAME_HINT = "Remove the NUL byte, or rename the variable to letters, digits and _.";
  const noFile = (vars: Record<string, string>): EnvSource => ({ vars, file: undefined, overridden: [] });
  it.each<[string, EnvSource, string, string | undefined]>([
    [
      "a NUL in a value, from a file",
      env({ A: "x\0y" }),
      'the variable "A" in /ci/app.env cannot be passed in a process environment (a NUL byte, an empty name or = in the name)',
      "/ci/app.env",
    ],
    [
      "a NUL in a name is shown as \\0",
      env({ "A\0B": "x" }),
      'the variable "A\\\\0B" in /ci/app.env cannot be passed in a process environment (a NUL byte, an empty name or = in the name)',
      "/ci/app.env",
    ],
    [
      "an empty name, no file",
      noFile({ "": "x" }),
      'the variable "" in the app env cannot be passed in a process environment (a NUL byte, an empty name or = in the name)',
      undefined,
    ],
  ])("%s", (_what, source, message, file) => {
    const e = thrown(() => checkExecEnv(source, DOCKER, ARGS, 8 * MiB));
    expect({ kind: e.kind, file: e.file, message: e.message, hint: e.hint }).toStrictEqual({
      kind: "env",
      file,
      message,
      hint: BAD_NAME_HINT,
    });
  });

  it("a value too long, no file", () => {
    const e = thrown(() => checkExecEnv(noFile({ BIG: "x".repeat(200_000) }), DOCKER, ARGS, 8 * MiB));
    expect({ file: e.file, message: e.message, hint: e.hint }).toStrictEqual({
      file: undefined,
      message:
        "the variable BIG in the app env is 200000 bytes long: Linux takes at most 131072 bytes per NAME=value in a process environment (MAX_ARG_STRLEN, counting the = and a final NUL), and imagekeeper resolves the compose files with the app env as the environment of 'docker stack config'",
      hint: "Shorten BIG to at most 131067 bytes, or keep large data out of the app .env (e.g. in a file the service reads).",
    });
  });
});

describe("checkExecEnv: the stack limit of its own process", () => {
  // Without a stackSoftLimit argument it reads /proc/self/limits. A process cannot change its own
  // RLIMIT_STACK from node, so a child runs the check under `ulimit -s 4096` (lowering a soft limit
  // is always allowed): a 4 MiB stack gives a quarter, 1 MiB, where the 8 MiB default gives 2 MiB.
  it("uses the soft RLIMIT_STACK of the process", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "imagekeeper-envlimits-"));
    try {
      const entry = path.join(dir, "check.ts");
      const src = fileURLToPath(new URL("../../src/recipe/envLimits.ts", import.meta.url));
      writeFileSync(
        entry,
        `import { checkExecEnv } from ${JSON.stringify(src)};\n` +
          `console.log(JSON.stringify(checkExecEnv({ vars: { A: "1" }, file: undefined, overridden: [] }, "/bin/true", [])));\n`,
      );
      const script = await bundleScript(entry);
      const r = spawnSync("sh", ["-c", 'ulimit -s 4096 && exec "$0" "$1"', process.execPath, script], {
        encoding: "utf8",
      });
      rmSync(path.dirname(script), { recursive: true, force: true });
      expect(r.stderr).toBe("");
      // "/bin/true" twice (path and argv[0]) and "A=1", each with its NUL; two pointers.
      expect(JSON.parse(r.stdout)).toStrictEqual({ usedBytes: 10 + 10 + 4, limitBytes: 1 * MiB - 2 * 8 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
