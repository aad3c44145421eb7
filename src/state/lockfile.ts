// A short-lived exclusive lock for read-modify-write of small state files (the ledger). An
// O_EXCL-created lock file holds the owner's pid; a lock whose owner is dead, or that is older
// than `staleMs` (these locks are held for milliseconds), is broken. This is not the run/prune
// lease: that one uses kernel locks (src/lease/).
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function tryBreakStale(lock: string, staleMs: number): void {
  try {
    const st = statSync(lock);
    // Stryker disable next-line MethodExpression: Number() ignores surrounding whitespace (the newline) itself
    const pid = Number(readFileSync(lock, "utf8").trim());
    const old = Date.now() - st.mtimeMs > staleMs;
    // An empty pid is a lock being created right now (open, then write): only age makes it stale.
    const deadOwner = Number.isInteger(pid) && pid > 0 && !pidAlive(pid);
    if (old || deadOwner) unlinkSync(lock);
  } catch {
    // Gone already, or unreadable for a moment: the next attempt decides.
  }
}

export async function withFileLock<T>(
  lock: string,
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; staleMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  const staleMs = opts.staleMs ?? 10_000;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lock, "wx", 0o664);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (Date.now() > deadline)
        throw new Error(`could not lock ${lock} within ${opts.timeoutMs ?? 15_000} ms`);
      tryBreakStale(lock, staleMs);
      // Stryker disable next-line ArithmeticOperator: only how long a waiting writer sleeps between tries
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      continue;
    }
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(lock);
      } catch {
        // broken by someone who thought us stale: nothing to undo
      }
    }
  }
}
