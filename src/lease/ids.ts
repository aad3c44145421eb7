// Lease ids: given by the runner (--id, e.g. its job id) or generated. They name files in the run
// dir, hence the strict pattern (rundir.ts).
import { randomBytes } from "node:crypto";
import { InputError } from "../errors.js";
import { LEASE_ID_PATTERN } from "./rundir.js";

export function newLeaseId(prefix: "run" | "lease"): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

export function checkLeaseId(id: string, command: string): string {
  if (LEASE_ID_PATTERN.test(id)) return id;
  throw new InputError("usage", `imagekeeper ${command}: "${id}" is not a lease id`, {
    hint: "A lease id has 1 to 64 letters, digits, '.', '_' or '-', and does not start with '.'.",
  });
}

/** LeaseInfo.command for a run: the argv joined, capped so a huge argv cannot bloat the run dir. */
export function describeCommand(argv: readonly string[]): string {
  const s = argv.map((a) => (a === "" || /[\s"'\\$`]/.test(a) ? JSON.stringify(a) : a)).join(" ");
  return s.length > 500 ? `${s.slice(0, 499)}…` : s;
}
