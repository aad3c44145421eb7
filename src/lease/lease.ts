// Run leases vs prune: runs share, a prune is exclusive. (Interface fixed here; implementation in
// progress: see issue 3.)
import { ToolError } from "../errors.js";

export interface LeaseInfo {
  id: string;
  pid: number;
  /** The command the lease covers (argv joined), or the runner's description. */
  command: string;
  /** ISO time the lease was taken. */
  since: string;
  kind: "run" | "acquired";
  /** For `lease acquire` leases: when the TTL ends. */
  expiresAt?: string;
}

export interface ExclusiveLock {
  release(): Promise<void>;
}

/** Take the prune lock without waiting; when any run lease is live, return those leases instead. */
export async function tryExclusive(_runDir: string): Promise<{ ok: true; lock: ExclusiveLock } | { ok: false; leases: LeaseInfo[] }> {
  throw new ToolError("leases are not implemented yet");
}

/** Live leases (for status and for the prune's deferral report). */
export async function listLeases(_runDir: string): Promise<LeaseInfo[]> {
  throw new ToolError("leases are not implemented yet");
}
