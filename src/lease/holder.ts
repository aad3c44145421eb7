// The process that holds a `lease acquire` lease after the CLI has exited: `sleep TTL`, started in
// its own session with the lease lock's descriptor as its fd 3 and its record's as fd 4. It holds
// both locks by merely existing; when the TTL runs out sleep exits and the kernel drops them, with
// no reaper involved. To release early we kill it, but only after checking that the pid is still
// that holder (start time and boot id, proc.ts): a recorded pid may since belong to another process.
import { ToolError } from "../errors.js";
import { spawnHolder } from "../exec.js";
import { identify, isAlive, type ProcessIdentity } from "./proc.js";

/** `sleep`'s argument for a TTL: seconds with millisecond precision (GNU sleep takes fractions). */
export function sleepSeconds(ttlMs: number): string {
  return (Math.max(0, ttlMs) / 1000).toFixed(3);
}

export async function startHolder(fds: readonly number[], ttlMs: number): Promise<ProcessIdentity> {
  const { pid } = await spawnHolder("sleep", [sleepSeconds(ttlMs)], { fds });
  // The start time is fixed at fork, so reading it right away (even before exec) is exact.
  const id = identify(pid);
  if (!id) throw new ToolError(`the lease holder (sleep, pid ${pid}) exited at once`);
  return id;
}

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gone(holder: ProcessIdentity, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    // A zombie counts as gone: its descriptors, and so the lock, were closed when it exited.
    if (!isAlive(holder)) return true;
    if (Date.now() > deadline) return false;
    await sleepMs(10);
  }
}

/**
 * Stop `holder` if it is still that process, and return once it has exited (its descriptors, and
 * so its locks, are closed by then). Returns false when it was already gone, or is not visible to
 * us in /proc; callers confirm with the record's lock.
 */
export async function stopHolder(holder: ProcessIdentity): Promise<boolean> {
  if (!isAlive(holder)) return false;
  for (const sig of ["SIGTERM", "SIGKILL"] as const) {
    try {
      process.kill(holder.pid, sig);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ESRCH") return true;
      throw new ToolError(`cannot stop the lease holder pid ${holder.pid}: ${(e as Error).message}`, {
        hint:
          code === "EPERM"
            ? "Release a lease as the user that acquired it (or as root)."
            : "Check the process with ps and kill it by hand.",
        cause: e,
      });
    }
    if (await gone(holder, 2000)) return true;
  }
  throw new ToolError(`the lease holder pid ${holder.pid} did not exit after SIGKILL`);
}
