// Setting the umask is refused in worker threads (ERR_WORKER_UNSUPPORTED_OPERATION), and Stryker's
// vitest runner always runs the unit tests in worker threads. There, process.umask(mask) is
// replaced by one that keeps the value without applying it, so the tests that make shared
// directories and files (src/state/dirs.ts sets the umask around mkdir) still run in a mutation
// run instead of leaving that code uncovered. The code under test does not rely on the umask
// alone (it fixes every mode it creates with chmod/fchmod), so these tests still hold; only a
// mutant of the umask arithmetic itself goes unseen there: the forked `npm run test:unit` (the
// real umask) is what catches those.
import { isMainThread } from "node:worker_threads";

if (!isMainThread) {
  let virtual = process.umask();
  const emulated = (mask?: string | number): number => {
    const old = virtual;
    if (mask !== undefined) virtual = typeof mask === "string" ? Number.parseInt(mask, 8) : mask;
    return old;
  };
  process.umask = emulated as typeof process.umask;
}
