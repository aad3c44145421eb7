// The one subprocess choke point. Every external program runs through `run`: argv arrays only
// (never a shell string), the argv is logged (callers never put secrets on argv: they go on
// stdin), a timeout and an AbortSignal both kill the child's whole process group, and children
// still alive when imagekeeper exits are killed with it.
import { ToolError } from "./errors.js";
import { logger } from "./log.js";

export interface RunOptions {
  /** Kill the process group after this long. */
  timeoutMs?: number;
  /** Abort kills the process group (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  /** Complete environment for the child (no inheritance) when `replaceEnv` is set. */
  env?: Record<string, string | undefined>;
  replaceEnv?: boolean;
  cwd?: string;
  /** Written to stdin, then closed. The way to hand a secret to a child. */
  input?: string;
  killGraceMs?: number;
  /** Called with each chunk of stderr as it arrives (docker pull progress). */
  onStderr?: (chunk: string) => void;
  onStdout?: (chunk: string) => void;
}

export interface RunResult {
  argv: readonly string[];
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  aborted: boolean;
}

const live = new Set<number>();

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone: nothing to do.
  }
}

// If imagekeeper itself exits (normally or by an unhandled signal path), take the children along:
// an orphaned `docker pull` would keep pulling after the report said it never ran.
process.on("exit", () => {
  for (const pid of live) killGroup(pid, "SIGKILL");
});

// execa is loaded on first use: a warm prepull spawns nothing, and module evaluation is a real
// share of a short CLI's run time (docs/performance.md).
let execaModule: typeof import("execa") | undefined;

export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const argv = [file, ...args];
  const started = performance.now();
  logger().debug({ argv }, "exec");
  if (opts.signal?.aborted) {
    return {
      argv,
      exitCode: undefined,
      signal: undefined,
      stdout: "",
      stderr: "",
      durationMs: 0,
      timedOut: false,
      aborted: true,
    };
  }
  let timedOut = false;
  let aborted = false;
  execaModule ??= await import("execa");
  const child = execaModule.execa(file, [...args], {
    reject: false,
    // Own process group, so a kill reaches grandchildren too (kill(-pgid)).
    detached: true,
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: !opts.replaceEnv,
    input: opts.input,
    stdin: opts.input === undefined ? "ignore" : undefined,
    stripFinalNewline: false,
    encoding: "utf8",
    // execa's own cleanup only signals the direct child; we kill the group ourselves.
    cleanup: false,
  });
  const pid = child.pid;
  if (pid !== undefined) live.add(pid);
  if (opts.onStderr) child.stderr?.on("data", (b: Buffer) => opts.onStderr?.(b.toString("utf8")));
  if (opts.onStdout) child.stdout?.on("data", (b: Buffer) => opts.onStdout?.(b.toString("utf8")));

  const grace = opts.killGraceMs ?? 3000;
  let forceTimer: NodeJS.Timeout | undefined;
  const terminate = () => {
    if (pid === undefined) return;
    killGroup(pid, "SIGTERM");
    forceTimer ??= setTimeout(() => killGroup(pid, "SIGKILL"), grace);
    forceTimer.unref();
  };
  const timer =
    opts.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          terminate();
        }, opts.timeoutMs)
      : undefined;
  const onAbort = () => {
    aborted = true;
    terminate();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const r = await child;
    if (r.failed && r.exitCode === undefined && r.signal === undefined && !timedOut && !aborted) {
      // Spawn failure (ENOENT, EACCES): the tool is missing, not a failed command.
      throw new ToolError(`could not run ${file}: ${r.originalMessage ?? r.shortMessage}`, {
        hint: `Install ${file} or put it on PATH.`,
        cause: r.cause,
      });
    }
    return {
      argv,
      exitCode: r.exitCode,
      signal: r.signal,
      stdout: String(r.stdout ?? ""),
      stderr: String(r.stderr ?? ""),
      durationMs: Math.round(performance.now() - started),
      timedOut,
      aborted,
    };
  } finally {
    if (timer) clearTimeout(timer);
    if (forceTimer) clearTimeout(forceTimer);
    opts.signal?.removeEventListener("abort", onAbort);
    if (pid !== undefined) {
      // The leader is gone; make sure nothing of its group lingers either.
      killGroup(pid, "SIGKILL");
      live.delete(pid);
    }
  }
}
