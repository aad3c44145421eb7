// Running the real, freshly bundled CLI from integration tests, started as the launchers start it:
// `node -- BIN args…`. The `--` is what keeps Node from taking an `--env-file` among imagekeeper's
// arguments as its own (nodejs/node#54232); test/integration/launch.itg.test.ts covers the other
// launchers (the shebang, the Nix wrapper).
import { spawn } from "node:child_process";
import { inject } from "vitest";

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function bin(): string {
  return inject("imagekeeperBin");
}

/** Run any program to its end, collecting its output (stdin: `input`, then closed). */
export function runProgram(
  file: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(file, [...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
    // A program that exits without reading its stdin (a refusal, `setpriv` failing) closes the
    // pipe first: the EPIPE says only that, and the exit status and output are what is tested.
    child.stdin.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") reject(e);
    });
    child.stdin.end(opts.input ?? "");
  });
}

export function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: { input?: string; cwd?: string } = {},
): Promise<CliResult> {
  return runProgram(process.execPath, ["--", bin(), ...args], {
    ...opts,
    env: { ...process.env, IMAGEKEEPER_LOG_LEVEL: "info", ...env },
  });
}

/** Start the CLI and return the child, for signal tests. */
export function cliSpawn(args: string[], env: Record<string, string | undefined> = {}) {
  return spawn(process.execPath, ["--", bin(), ...args], {
    env: { ...process.env, IMAGEKEEPER_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}
