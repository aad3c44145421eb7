// The execve(2) limits applied to the app env before `docker stack config` is spawned
// (src/recipe/envLimits.ts), at their exact boundaries. The kernel's own answer at the same
// boundaries is checked end to end in test/integration/env-limits.itg.test.ts.
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { argSpace, checkExecEnv, MAX_ARG_STRLEN, parseStackLimit } from "../../src/recipe/envLimits.js";

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
  it("counts one pointer per string: one variable more of the same bytes no longer fits", () => {
    const vars = filling(room);
    const v3 = vars.V3!;
    // Same string bytes (V3 shortened by what "E=" and its NUL take), one pointer more.
    const more = { ...vars, V3: v3.slice(3), E: "" };
    expect(() => checkExecEnv(env(more), DOCKER, ARGS, stack)).toThrow(InputError);
  });
});
