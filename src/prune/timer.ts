// The prune timer's last and next run, from systemd (`systemctl show`), for `status`. The NixOS
// module installs imagekeeper-prune.timer; elsewhere there may be no systemd, no such unit, or a
// systemctl that cannot reach the manager (a container): each is "no timer", never an error.
// systemctl(1) `show -p`: one KEY=VALUE per line; an unset timestamp is empty or "n/a".
import { run } from "../exec.js";
import { which } from "../util/which.js";

export const PRUNE_TIMER = "imagekeeper-prune.timer";

export interface TimerState {
  unit: string;
  /** As systemd prints them (local time and zone, e.g. "Mon 2026-11-30 04:30:12 UTC"), or null. */
  lastRun: string | null;
  nextRun: string | null;
}

const PROPS = ["LoadState", "ActiveState", "LastTriggerUSec", "NextElapseUSecRealtime"];

export function showArgs(unit: string): string[] {
  return ["show", unit, "--no-pager", "-p", PROPS.join(",")];
}

/** Parse `systemctl show -p …`; null when the unit is not installed. */
export function parseShow(unit: string, stdout: string): TimerState | null {
  const props = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) props.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const load = props.get("LoadState");
  if (load === undefined || load === "not-found" || load === "") return null;
  const stamp = (k: string) => {
    const v = props.get(k);
    return v === undefined || v === "" || v === "n/a" || v === "0" ? null : v;
  };
  return { unit, lastRun: stamp("LastTriggerUSec"), nextRun: stamp("NextElapseUSecRealtime") };
}

/** The timer's state, or null: no systemctl, no manager, no such unit. */
export async function readTimer(
  unit = PRUNE_TIMER,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TimerState | null> {
  // Stryker disable next-line StringLiteral: PATH unset: "" names no directory (which() skips empty entries); any other fallback names one relative to the cwd, where no systemctl is
  const searchPath = env.PATH ?? "";
  const systemctl = which("systemctl", searchPath);
  if (!systemctl) return null;
  const r = await run(systemctl, showArgs(unit), { timeoutMs: 5000 }).catch(() => undefined);
  if (!r || r.exitCode !== 0) return null;
  return parseShow(unit, r.stdout);
}
