// Setting the umask is refused in worker threads (ERR_WORKER_UNSUPPORTED_OPERATION). vitest runs
// the unit tests in forked processes, but Stryker's vitest runner forces worker threads: tests that
// make shared directories (src/state/dirs.ts sets the umask around mkdir) are skipped there, so a
// mutation run does not fail its initial test run. They still run in every `npm run test:unit`.
import { isMainThread } from "node:worker_threads";

export const UMASK_UNSETTABLE = !isMainThread;
