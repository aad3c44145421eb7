// The one subprocess choke point. Every external program runs through `run`: argv arrays only
// (never a shell string), the argv is logged (callers never put secrets on argv: they go on
// stdin), a timeout and an AbortSignal both kill the child's whole process group, and children
// still alive when imagekeeper exits are killed with it. Two exceptions to those last rules:
// `spawnHolder`, a lease holder that must outlive imagekeeper (src/lease/holder.ts), and `run`
// with `runToCompletion`, a removal that holds the prune lock until the daemon has answered.
import type { Options as ExecaOptions } from "execa";
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
  /**
   * The child shares imagekeeper's stdin, stdout and stderr instead of pipes (`imagekeeper run`'s
   * command: a CI job's output must stream live and not be buffered in memory). The result's
   * stdout/stderr are then empty. Not combinable with `input`, `onStdout` or `onStderr`.
   */
  inheritStdio?: boolean;
  /**
   * Open file descriptors handed to the child as its fds 3, 4, …, sharing the same open file
   * description (the lease lock: `flock 3` locks imagekeeper's own descriptor).
   */
  fds?: readonly number[];
  /** Called once the child exists, with a handle that signals its process group (signal forwarding). */
  onSpawn?: (child: SpawnedChild) => void;
  /**
   * Never signal the child: not on `timeoutMs` (which then only logs a warning), not on `signal`
   * (checked only before the spawn), not when imagekeeper exits. For a client whose request another
   * process carries out, holding a lock through `fds`: a docker CLI waits for the daemon's answer,
   * and killing it stops neither the daemon's work nor anything but the lock (issue: a SIGKILLed
   * prune's removals outlived its lock). It ends when the daemon answers, and so does its lock.
   */
  runToCompletion?: boolean;
}

export interface SpawnedChild {
  pid: number;
  /** Send `sig` to the child's whole process group. */
  signal(sig: NodeJS.Signals): void;
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
  const started = Date.now();
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
  if (opts.inheritStdio && (opts.input !== undefined || opts.onStdout || opts.onStderr))
    throw new ToolError("exec: inheritStdio cannot be combined with input, onStdout or onStderr");
  execaModule ??= await import("execa");
  // Without the two stdio options the call is exactly what it always was; with them, an explicit
  // stdio array (execa refuses `stdin` next to `stdio`). A bare fd number at index ≥ 3 is passed
  // to child_process natively, so the child gets a dup of that very descriptor.
  // (execa's types list only the fd numbers 3 to 9; at run time any number is passed through.)
  const stdio: Pick<ExecaOptions, "stdio" | "stdin"> =
    opts.inheritStdio || opts.fds?.length
      ? {
          stdio: [
            opts.inheritStdio ? "inherit" : opts.input === undefined ? "ignore" : "pipe",
            opts.inheritStdio ? "inherit" : "pipe",
            opts.inheritStdio ? "inherit" : "pipe",
            ...(opts.fds ?? []),
          ] as unknown as ExecaOptions["stdio"],
        }
      : { stdin: opts.input === undefined ? "ignore" : undefined };
  const child = execaModule.execa(file, [...args], {
    reject: false,
    // Own process group, so a kill reaches grandchildren too (kill(-pgid)).
    detached: true,
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: !opts.replaceEnv,
    input: opts.input,
    ...stdio,
    stripFinalNewline: false,
    encoding: "utf8",
    // execa's own cleanup only signals the direct child; we kill the group ourselves.
    cleanup: false,
  });
  const pid = child.pid;
  if (pid !== undefined && !opts.runToCompletion) live.add(pid);
  if (pid !== undefined) opts.onSpawn?.({ pid, signal: (sig) => killGroup(pid, sig) });
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
          if (opts.runToCompletion) {
            logger().warn(
              { argv, pid, afterMs: opts.timeoutMs },
              `${file} is still running; not stopping it: it holds a lock for a request the daemon may still be carrying out`,
            );
            return;
          }
          timedOut = true;
          terminate();
        }, opts.timeoutMs)
      : undefined;
  const onAbort = () => {
    aborted = true;
    terminate();
  };
  if (!opts.runToCompletion) opts.signal?.addEventListener("abort", onAbort, { once: true });

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
      durationMs: Math.round(Date.now() - started),
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

export interface HolderOptions {
  /** Open file descriptors handed to the holder as its fds 3, 4, … (the lease lock). */
  fds?: readonly number[];
}

/**
 * Start a long-lived process that must OUTLIVE imagekeeper: a `lease acquire` holder keeps the
 * lease lock's file description open after the CLI exits. Like `run`'s children it gets its own
 * session (no controlling terminal, out of reach of the caller's hangup and process-group kills);
 * unlike them it gets /dev/null for stdio (so `ID=$(imagekeeper lease acquire)` is not held open by
 * it), is not tracked for the exit-time kill, and does not keep imagekeeper's event loop alive.
 * Resolves with its pid once it has started; a spawn failure (ENOENT) becomes a ToolError.
 */
export async function spawnHolder(
  file: string,
  args: readonly string[],
  opts: HolderOptions = {},
): Promise<{ pid: number }> {
  const argv = [file, ...args];
  logger().debug({ argv }, "exec holder");
  // Loaded here, not at the top: a warm prepull spawns nothing and should not pay for the module.
  const { spawn } = await import("node:child_process");
  const child = spawn(file, [...args], {
    detached: true,
    stdio: ["ignore", "ignore", "ignore", ...(opts.fds ?? [])],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (e) =>
      reject(
        new ToolError(`could not run ${file}: ${e.message}`, {
          hint: `Install ${file} or put it on PATH.`,
          cause: e,
        }),
      ),
    );
  });
  child.unref();
  if (child.pid === undefined) throw new ToolError(`could not run ${file}: no pid`);
  return { pid: child.pid };
}
