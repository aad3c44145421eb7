// The drain (src/lease/drain.ts) in a separate process, for test/integration/drain.itg.test.ts
// (which bundles it):
//   node drain-actor.mjs gap RUNDIR LOG NAME GAP_WAIT_MS HOLD_MS
//     A stand-in gap prune: drainAndLock exactly as src/prune/gap-prune.ts calls it; while it holds
//     the exclusive lock, append "E P <name>" and, HOLD_MS later, "X P <name>" to LOG (the prune's
//     removals would happen in between). Prints {"result":"ok"|"timeout","waitedMs":…} as JSON.
import { appendFileSync } from "node:fs";
import { drainAndLock } from "../../src/lease/drain.js";

const [mode, runDir, log, name, gapWait, hold] = process.argv.slice(2);
if (mode !== "gap" || !runDir || !log || !name || !gapWait || !hold)
  throw new Error("usage: drain-actor gap RUNDIR LOG NAME GAP_WAIT_MS HOLD_MS");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const r = await drainAndLock(runDir, { waitMs: Number(gapWait), what: `test ${name}` });
if (r.ok) {
  appendFileSync(log, `E P ${name}\n`);
  await sleep(Number(hold));
  appendFileSync(log, `X P ${name}\n`);
  await r.lock.release();
  process.stdout.write(
    `${JSON.stringify({ result: "ok", waitedMs: r.waitedMs, waitedFor: r.waitedFor.length })}\n`,
  );
} else {
  process.stdout.write(
    `${JSON.stringify({ result: r.why, waitedMs: r.waitedMs, leases: r.leases.length })}\n`,
  );
}
