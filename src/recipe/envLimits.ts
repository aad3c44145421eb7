// The app env becomes a process environment: `docker stack config` gets exactly the app's variables
// as its environment (resolve.ts), and Linux limits what execve(2) accepts. A value past the limit
// made the spawn fail with E2BIG, an internal error (exit 70); it is bad input, and this module
// says so before anything is spawned, naming the variable, the file and the limit.
//
// The kernel's rules (fs/exec.c, include/uapi/linux/binfmts.h):
//   - each string, argv or environment ("NAME=value"), at most MAX_ARG_STRLEN = 32 pages including
//     its NUL: 131072 bytes with 4 KiB pages (larger pages allow more; we hold to the smallest);
//   - all strings together (the program's path, the environment, argv, each with its NUL) at most
//     min(3/4 of _STK_LIM = 6 MiB, the stack soft limit / 4), but never less than ARG_MAX = 128 KiB,
//     minus one pointer per string of argv and environment (`getconf ARG_MAX` shows the quarter).
import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";

export const MAX_ARG_STRLEN = 32 * 4096;
const ARG_MAX = 131_072;
const STK_LIM = 8 * 1024 * 1024;
const POINTER_BYTES = 8;

/** Bytes execve(2) accepts for all strings together, before the pointers are taken off. */
export function argSpace(stackSoftLimit: number): number {
  return Math.max(Math.min((STK_LIM / 4) * 3, Math.floor(stackSoftLimit / 4)), ARG_MAX);
}

/** The soft RLIMIT_STACK of this process (children inherit it), from /proc/self/limits. */
export function parseStackLimit(limitsText: string): number | undefined {
  const m = /^Max stack size\s+(\d+|unlimited)\s/m.exec(limitsText);
  if (!m) return undefined;
  return m[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[1]);
}

function stackLimit(): number {
  try {
    return parseStackLimit(readFileSync("/proc/self/limits", "utf8")) ?? STK_LIM;
  } catch {
    return STK_LIM; // the usual default (ulimit -s 8192)
  }
}

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** The variables to check: an AppEnv (appEnv.ts). */
export interface EnvSource {
  vars: Readonly<Record<string, string>>;
  /** The app .env the variables came from (for the message). */
  file: string | undefined;
  /** Variables given with --set. */
  overridden: readonly string[];
  /** The recipe's abra.sh exports merged over the .env, when read. */
  abraSh?: { source: string; vars: Readonly<Record<string, string>> };
}

/**
 * Throw InputError (exit 2) when `env` could not be the environment of `program args…`: a NUL
 * byte or `=` where it cannot be, a NAME=value longer than MAX_ARG_STRLEN, or more than the kernel
 * takes altogether. Otherwise return the bytes the exec will use and the limit. `stackSoftLimit`
 * (RLIMIT_STACK, bytes) is read from /proc/self/limits when omitted.
 */
export function checkExecEnv(
  env: EnvSource,
  program: string,
  args: readonly string[],
  stackSoftLimit: number = stackLimit(),
): { usedBytes: number; limitBytes: number } {
  const e = { ...env, envFile: env.file, program, argv: [program, ...args] };
  const where = (name: string) =>
    e.abraSh?.vars[name] !== undefined
      ? `exported by ${e.abraSh.source}`
      : e.overridden.includes(name)
        ? "given with --set"
        : e.envFile
          ? `in ${e.envFile}`
          : "in the app env";
  const fail = (message: string, hint: string) =>
    new InputError("env", message, { ...(e.envFile ? { file: e.envFile } : {}), hint });
  const entries = Object.entries(e.vars);
  for (const [name, value] of entries) {
    if (name.includes("\0") || value.includes("\0") || name.includes("=") || name === "") {
      throw fail(
        `the variable ${JSON.stringify(name.replaceAll("\0", "\\0"))} ${where(name)} cannot be passed in a process environment (a NUL byte, an empty name or = in the name)`,
        "Remove the NUL byte, or rename the variable to letters, digits and _.",
      );
    }
    const len = bytes(name) + 1 + bytes(value) + 1;
    if (len > MAX_ARG_STRLEN) {
      throw fail(
        `the variable ${name} ${where(name)} is ${bytes(value)} bytes long: Linux takes at most ${MAX_ARG_STRLEN} bytes per NAME=value in a process environment (MAX_ARG_STRLEN, counting the = and a final NUL), and imagekeeper resolves the compose files with the app env as the environment of 'docker stack config'`,
        `Shorten ${name} to at most ${MAX_ARG_STRLEN - bytes(name) - 2} bytes, or keep large data out of the app .env (e.g. in a file the service reads).`,
      );
    }
  }
  const strings = [e.program, ...e.argv, ...entries.map(([n, v]) => `${n}=${v}`)];
  const used = strings.reduce((n, s) => n + bytes(s) + 1, 0);
  const limit = argSpace(stackSoftLimit) - (Math.max(e.argv.length, 1) + entries.length) * POINTER_BYTES;
  if (used > limit) {
    const largest = entries
      .map(([n, v]) => ({ n, len: bytes(v) }))
      .sort((a, b) => b.len - a.len || a.n.localeCompare(b.n))
      .slice(0, 3);
    throw fail(
      `the app env${e.envFile ? ` of ${e.envFile}` : ""} is too large to hand to 'docker stack config': with its arguments it takes ${used} bytes, and Linux allows ${limit} here (a quarter of the stack limit, at most 6 MiB, less a pointer per string); largest: ${largest.map((l) => `${l.n} (${l.len} bytes, ${where(l.n)})`).join(", ")}`,
      "Keep large data out of the app .env (e.g. in a file the service reads), or raise the stack limit of the calling process (ulimit -s).",
    );
  }
  return { usedBytes: used, limitBytes: limit };
}
