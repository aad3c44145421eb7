// Run a lease operation (lease-caller.ts) in a child process that the kernel treats differently
// from the test runner, to reach error paths no process of the runner's own can: a kill refused
// with EPERM, a SIGKILL that does not kill, a /proc that does not show the caller. Real processes
// and the real kernel, no stand-ins: the caller is bundled from the source as it is on disk (so a
// mutant applied to src/ is what runs), then started under setpriv(1), unshare(1) or nsenter(1)
// (util-linux, like flock). Every such setup needs root: the tests using it are skipped otherwise.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const asRoot = process.getuid?.() === 0;

export type CallerResult = { ok: unknown } | { error: { name: string; message: string; hint?: string } };

let bundled: { dir: string; file: string } | undefined;

/** Bundle lease-caller.ts with everything it imports into one file plain `node` runs. */
export async function bundleCaller(): Promise<string> {
  if (bundled) return bundled.file;
  const dir = mkdtempSync(path.join(tmpdir(), "ik-caller-"));
  const file = path.join(dir, "lease-caller.mjs");
  await build({
    entryPoints: [fileURLToPath(new URL("./lease-caller.ts", import.meta.url))],
    outfile: file,
    bundle: true,
    platform: "node",
    format: "esm",
    // The bundled CommonJS packages (pino) require node built-ins.
    banner: {
      js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);',
    },
    logLevel: "error",
  });
  bundled = { dir, file };
  return file;
}

export function removeCaller(): void {
  if (bundled) rmSync(bundled.dir, { recursive: true, force: true });
  bundled = undefined;
}

/**
 * Run the caller as `prefix… node CALLER mode json`, with `fds` as its fds 3, 4, …; the caller's
 * JSON line.
 */
export function runCaller(
  prefix: readonly string[],
  mode: string,
  args: unknown,
  fds: readonly number[] = [],
): Promise<CallerResult> {
  return bundleCaller().then(
    (caller) =>
      new Promise((resolve, reject) => {
        const argv = [...prefix, process.execPath, caller, mode, JSON.stringify(args)];
        const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe", ...fds] });
        let out = "";
        let err = "";
        child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
        child.on("error", reject);
        child.on("close", () => {
          const line = out.trim().split("\n").pop() ?? "";
          try {
            resolve(JSON.parse(line) as CallerResult);
          } catch {
            reject(new Error(`${argv.join(" ")}: no result (stdout ${JSON.stringify(out)}, stderr ${err})`));
          }
        });
      }),
  );
}

/**
 * A mount namespace whose /proc belongs to another PID namespace, whose init runs `script` (a
 * shell script, given `fds` as its fds 3, 4, …, whose first line of output says it is ready). A
 * process of ours that enters it (`prefix`: nsenter) sees neither itself nor its children in /proc,
 * but that namespace's processes, under their pids there. `stop()` ends it (--kill-child: the
 * init dies with unshare, and the namespace's other processes with the init).
 */
export async function foreignProc(
  script = "echo ready; exec sleep 600",
  fds: readonly number[] = [],
): Promise<{ prefix: string[]; ready: string; stop(): void }> {
  const ns = spawn("unshare", ["--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c", script], {
    stdio: ["ignore", "pipe", "inherit", ...fds],
  });
  const ready = await new Promise<string>((resolve, reject) => {
    ns.once("error", reject);
    ns.once("exit", (code) => reject(new Error(`unshare exited ${code}`)));
    ns.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim()));
  });
  return {
    prefix: ["nsenter", `--target=${ns.pid}`, "--mount", "--"],
    ready,
    stop: () => void ns.kill("SIGKILL"),
  };
}
