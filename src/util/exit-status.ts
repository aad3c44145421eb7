// A child's end as a shell reports it: its exit code, or 128 + the signal number when a signal
// killed it (SIGKILL → 137, SIGTERM → 143), so `imagekeeper run -- CMD` is transparent to the CI
// runner that looks at $?.
import { constants } from "node:os";

export function exitStatus(exitCode: number | undefined, signal: string | undefined): number {
  if (exitCode !== undefined) return exitCode;
  if (signal !== undefined) {
    const n = (constants.signals as Record<string, number | undefined>)[signal];
    if (n !== undefined) return 128 + n;
  }
  // Neither: the child's end was not observed (cannot happen for a spawned child); a failure.
  return 1;
}

export function signalStatus(signal: NodeJS.Signals): number {
  return exitStatus(undefined, signal);
}
