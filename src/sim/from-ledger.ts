// A host's own history as a trace: `imagekeeper simulate --from-ledger` replays what this host did,
// so an operator can ask "what disk do I need, and what would autoPrune have cost me?".
//
// What a ledger can reconstruct: when each image was used (its last 32 uses, a minute apart at
// least), under which names, which app a run was (each app+role's last 12 prepulls, and the last
// use of each image per app+role); image sizes where a prune's listing or a pull recorded them.
// What it cannot: uses beyond the last 32 per image, images forgotten after `ledger.horizon`, run
// lengths (every run gets `runLengthS`), which app made an older use (those runs are "unknown"),
// build dates (autoPrune's `until=` then sees every image as old), and sizes never recorded
// (`defaultSizeBytes`, counted in `unknownSizes`). Uses less than `GROUP_MS` apart form one run:
// a prepull records all its images at one instant.
import type { Ledger } from "../state/ledger.js";
import type { TraceImage, TraceRun } from "./trace.js";

export const GROUP_MS = 60_000;

export interface FromLedgerOptions {
  runLengthS: number;
  defaultSizeBytes: number;
}

export interface FromLedger {
  runs: TraceRun[];
  /** Images whose size the ledger did not know. */
  unknownSizes: number;
  /** Runs no app could be attributed to. */
  unknownApps: number;
}

export function traceFromLedger(ledger: Ledger, o: FromLedgerOptions): FromLedger {
  const uses: { t: number; id: string }[] = [];
  for (const [id, e] of Object.entries(ledger.images)) for (const t of e.uses) uses.push({ t, id });
  uses.sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1));

  let unknownSizes = 0;
  const sizeOf = new Map<string, number>();
  for (const [id, e] of Object.entries(ledger.images)) {
    if (e.size === undefined) unknownSizes++;
    sizeOf.set(id, e.size ?? o.defaultSizeBytes);
  }

  const runs: TraceRun[] = [];
  let unknownApps = 0;
  let group: { t: number; id: string }[] = [];
  const flush = () => {
    if (!group.length) return;
    const t = group[0]!.t;
    // The app: an app+role whose recorded prepulls (its need set's last runs) include one within
    // the group, else a user whose last use of one of these images is within it.
    const end = group[group.length - 1]!.t;
    let user = Object.keys(ledger.needs)
      .sort()
      .find((k) => ledger.needs[k]!.runs.some((r) => r >= t && r <= end));
    const roleOf = new Map<string, string>();
    for (const u of group) {
      for (const [k, at] of Object.entries(ledger.images[u.id]!.by)) {
        if (at < t || at > end) continue;
        user ??= k;
        const [app, role] = k.split("|");
        if (app === user.split("|")[0] && role) roleOf.set(u.id, role);
      }
    }
    const app = user?.split("|")[0];
    if (app === undefined) unknownApps++;
    const need = user ? ledger.needs[user] : undefined;
    const images: TraceImage[] = [...new Set(group.map((u) => u.id))].map((id) => {
      const e = ledger.images[id]!;
      const role = roleOf.get(id);
      return {
        ref: e.refs[e.refs.length - 1] ?? id,
        id,
        sizeBytes: sizeOf.get(id)!,
        ...(role && role !== "deploy" ? { role } : {}),
      };
    });
    runs.push({
      t,
      run: `ledger-${runs.length + 1}`,
      app: app ?? "unknown",
      recipe: need?.recipe ?? app ?? "unknown",
      kind: "ledger",
      durationS: o.runLengthS,
      images,
    });
    group = [];
  };
  for (const u of uses) {
    if (group.length && u.t - group[0]!.t > GROUP_MS) flush();
    group.push(u);
  }
  flush();
  return { runs, unknownSizes, unknownApps };
}
