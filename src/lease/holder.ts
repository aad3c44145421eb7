// The process that holds a `lease acquire` lease after the CLI has exited: `sleep TTL`, started in
// its own session with the lease lock's descriptor as its fd 3 and its record's as fd 4. It holds
// both locks by merely existing; when the TTL runs out sleep exits and the kernel drops them, with
// no reaper involved. To release early we signal it, but only once it has proven to be that
// holder (proof.ts): same pid, start time and boot id as recorded, running as the record file's
// owner, and holding both the record and the lease lock open. A record alone is never enough.
import { ToolError } from "../errors.js";
import { spawnHolder } from "../exec.js";
import { bootId, type FileId, identify, isAlive, type ProcessIdentity, viewProcess } from "./proc.js";
import { judgeHolder } from "./proof.js";

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

/** The files a holder must hold open to be signalled: its record and the run dir's lease lock. */
export interface HolderFiles {
  record: FileId & { uid: number };
  lock: FileId;
}

/**
 * Stop `holder` if it proves to be the holder of `files` (proof.ts), and return once it has
 * exited (its descriptors, and so its locks, are closed by then). "gone" when the recorded process
 * no longer exists. Throws a ToolError, having signalled nothing, when a process lives under that
 * pid but is not proven to be the holder (or is hidden from us): callers confirm with the record's
 * lock. The proof is re-checked right before each signal; what remains is the microseconds
 * between that check and kill(2) (Node has no pidfd_send_signal).
 */
export async function stopHolder(holder: ProcessIdentity, files: HolderFiles): Promise<"stopped" | "gone"> {
  for (const sig of ["SIGTERM", "SIGKILL"] as const) {
    const verdict = judgeHolder({
      recorded: holder,
      ...files,
      proc: viewProcess(holder.pid),
      bootId: bootId(),
    });
    if (verdict.kind === "gone") return sig === "SIGTERM" ? "gone" : "stopped";
    if (verdict.kind === "unproven") {
      throw new ToolError(`not signalling pid ${holder.pid}: ${verdict.why}`, {
        hint: "Release a lease as the user that acquired it (or as root); a lease that cannot be released ends at its TTL.",
      });
    }
    try {
      process.kill(holder.pid, sig);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ESRCH") return "stopped";
      throw new ToolError(`cannot stop the lease holder pid ${holder.pid}: ${(e as Error).message}`, {
        hint:
          code === "EPERM"
            ? "Release a lease as the user that acquired it (or as root)."
            : "Check the process with ps and kill it by hand.",
        cause: e,
      });
    }
    if (await gone(holder, 2000)) return "stopped";
  }
  throw new ToolError(`the lease holder pid ${holder.pid} did not exit after SIGKILL`);
}
