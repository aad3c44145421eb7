// A lease operation run in a child process (bundled by lease-child.ts), so that a unit test can run
// the code under test as a caller the kernel treats differently from the test runner: without
// CAP_KILL, inside a PID namespace, or with a /proc that does not show it. Prints one JSON line:
// { ok: result } or { error: { name, message, hint } }.
//   node lease-caller.mjs stop '{"pid":1,"files":{…}}' | start | run-lease '{"runDir":…}' | exclusive '{"runDir":…}' | publish '{"file":…}' | view '{"pid":1}'
import { readdirSync } from "node:fs";
import { ToolError } from "../../src/errors.js";
import { type HolderFiles, startHolder, stopHolder } from "../../src/lease/holder.js";
import { tryExclusive } from "../../src/lease/lease.js";
import { identify, viewProcess } from "../../src/lease/proc.js";
import { discardPrepared, prepareRecord, publishRecord, releaseHeld } from "../../src/lease/records.js";
import { startRunLease } from "../../src/lease/run-lease.js";

const [mode, json = "{}"] = process.argv.slice(2);
const args = JSON.parse(json) as { pid?: number; files?: HolderFiles; runDir?: string; file?: string };

async function main(): Promise<unknown> {
  switch (mode) {
    case "stop":
      return stopHolder(identify(args.pid!)!, args.files!);
    case "start":
      return startHolder([], 1000);
    case "run-lease": {
      const lease = await startRunLease(args.runDir!, { command: ["true"], waitMs: 0 });
      const files = readdirSync(args.runDir!).sort();
      lease?.release();
      return files;
    }
    case "exclusive": {
      const r = await tryExclusive(args.runDir!);
      const files = readdirSync(args.runDir!).sort();
      if (r.ok) await r.lock.release();
      return { ok: r.ok, files };
    }
    case "publish": {
      // As the callers in src/lease do: a record that cannot be published is discarded.
      const p = await prepareRecord(args.file!);
      try {
        releaseHeld(publishRecord(p, args.file!, { by: "caller" }));
      } catch (e) {
        discardPrepared(p);
        throw e;
      }
      return "published";
    }
    case "view": {
      // What viewProcess shows this caller of another process: its uids, and its files if any.
      const v = viewProcess(args.pid!);
      return v && { uids: v.uids, open: v.open === undefined ? "unreadable" : "listed" };
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

try {
  console.log(JSON.stringify({ ok: await main() }));
} catch (e) {
  const err = e as Error;
  console.log(
    JSON.stringify({
      error: {
        name: err.constructor.name,
        message: err.message,
        hint: e instanceof ToolError ? e.hint : undefined,
      },
    }),
  );
}
