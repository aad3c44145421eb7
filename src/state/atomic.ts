// Atomic file replacement: write a temp file in the same directory, fsync, rename over the target.
// A reader sees the old file or the new one, never half of one; a crash leaves at worst a stray
// temp file. Used for the ledger, the metrics textfile and Docker client configs.
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";

/**
 * `fsync: false` for files that are rebuilt when lost (caches, the ledger): after a power cut they
 * may be empty, never torn, and skipping the flush keeps a warm prepull fast.
 */
export function writeFileAtomic(
  file: string,
  data: string,
  mode = 0o644,
  opts: { fsync?: boolean } = {},
): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  // The mode is set at creation, so a secret is never readable by others, even for a moment.
  const fd = openSync(tmp, "wx", mode);
  try {
    // Exactly `mode`, whatever the umask: files in the shared state dir must stay group-writable
    // for the other users of the group (the runner and the prune service).
    fchmodSync(fd, mode);
    writeSync(fd, data);
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BooleanLiteral: whether the data was flushed is not observable without a power cut
    if (opts.fsync !== false) fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
}
