// The library in a separate process, for test/integration/lease.itg.test.ts (which bundles it):
//   node lease-actor.mjs prune RUNDIR LOG NAME PLAN_JSON   PLAN: [{ holdMs, gapMs }, …]
//     A stand-in prune for the race test: per attempt, tryExclusive; while holding, append
//     "E P <name>.<i>" and "X P <name>.<i>" to LOG. Prints "ok" or "deferred" per attempt. (The
//     prune command is built elsewhere; the guarantee under test is the library's.)
//   node lease-actor.mjs list RUNDIR
//     Print listLeases(RUNDIR) as JSON (run in another pid namespace, where /proc hides the holders).
import { appendFileSync } from "node:fs";
import { listLeases, tryExclusive } from "../../src/lease/lease.js";

const [mode, runDir, log, name, planJson] = process.argv.slice(2);
if (mode === "list" && runDir) {
  process.stdout.write(`${JSON.stringify(await listLeases(runDir))}\n`);
  process.exit(0);
}
if (mode !== "prune" || !runDir || !log || !name || !planJson)
  throw new Error("usage: lease-actor prune RUNDIR LOG NAME PLAN_JSON | list RUNDIR");
const plan = JSON.parse(planJson) as { holdMs: number; gapMs: number }[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const [i, step] of plan.entries()) {
  const r = await tryExclusive(runDir);
  if (r.ok) {
    appendFileSync(log, `E P ${name}.${i}\n`);
    await sleep(step.holdMs);
    appendFileSync(log, `X P ${name}.${i}\n`);
    await r.lock.release();
    process.stdout.write("ok\n");
  } else {
    process.stdout.write("deferred\n");
  }
  await sleep(step.gapMs);
}
