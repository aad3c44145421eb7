import { chmodSync, mkdirSync } from "node:fs";

/**
 * Create a directory shared by the users of imagekeeper's group (the CI runner and the prune
 * service): group-writable and setgid, so files made inside keep the group, whatever the creating
 * process's umask. A directory that already exists is left as its owner set it (on NixOS,
 * systemd-tmpfiles creates the state and run dirs).
 */
export function ensureSharedDir(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o2775 });
  if (created !== undefined) {
    try {
      chmodSync(dir, 0o2775);
    } catch {
      // Not ours to change (created through a race by another user): leave it.
    }
  }
}
