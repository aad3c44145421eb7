// `imagekeeper simulate`: replay a CI trace (or this host's own ledger) through the prune policy at
// several disk sizes. Wiring only: the simulator is src/sim/, which calls the same planner and
// executor prune runs. Reads one file; touches no daemon and no state.
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { InputError } from "../errors.js";
import { type Baseline, BASELINES, compare, type SimulateReport, traceSummary } from "../sim/compare.js";
import { traceFromLedger } from "../sim/from-ledger.js";
import { formatTrace, parseTrace, type TraceRun } from "../sim/trace.js";
import { readLedger } from "../state/ledger.js";
import { formatBytes, parseDuration } from "../util/duration.js";
import { parseSize } from "../util/size.js";
import { parseFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

const HELP = `Usage: imagekeeper simulate (--trace FILE | --from-ledger [--write-trace FILE])
                            [--capacity SIZE]… [--baseline lru|oracle|autoprune]… [--json]

Replays a CI trace through the prune policy as a host runs it (prepull and run gap prunes with
their drains, the hourly timer, run leases, the planner and the executor) on a modelled disk of
each --capacity, and compares the re-pulled bytes with the offline reference (Belady: evict what is
needed farthest in the future). The config file (--config) supplies the policy. docs/simulate.md.

Options:
  --trace FILE         JSON Lines, one run a line, in time order (format: docs/simulate.md)
  --from-ledger        replay this host's own ledger (stateDir) instead: what it can and cannot
                       reconstruct is in docs/simulate.md
  --write-trace FILE   with --from-ledger: also write the reconstructed trace to FILE
  --run-length DUR     with --from-ledger: each run's lease length (default 10m)
  --default-size SIZE  with --from-ledger: size of an image the ledger has none for (default 300MiB)
  --capacity SIZE      disk size to simulate, e.g. 40GiB (repeatable; default: 50%, 75%, 100% and
                       125% of the busiest 24 hours' distinct image bytes)
  --baseline NAME      also replay: lru (same rules, least recently used first), oracle (same
                       rules, Belady's order), autoprune (NixOS autoPrune --all --filter
                       until=24h, daily) (repeatable; default autoprune)
  --timer DUR          prune timer period (default 1h, as the NixOS module's "hourly"; 0: none)
  --pull-rate SIZE     bytes pulled per second (default 50MiB)
  --json               print one JSON document: {trace, results: [{capacityBytes, pulls,
                       repulledBytes, peakBytes, overCapacityRuns, prunes, reference, ratio, …}]}

Exit status:
  0        the simulation ran (whatever it found)
  2        bad input (a flag, the config, a trace line: the error names the file and line)
  70       an internal error
  130/143  interrupted by SIGINT/SIGTERM`;

const sizeFlag = z.string().transform((s, ctx) => {
  const n = parseSize(s);
  if (n === undefined || n <= 0) {
    ctx.addIssue({ code: "custom", message: `"${s}" is not a size; write e.g. "40GiB"` });
    return z.NEVER;
  }
  return n;
});
const durationFlag = z.string().transform((s, ctx) => {
  const n = parseDuration(s);
  if (n === undefined) {
    ctx.addIssue({ code: "custom", message: `"${s}" is not a duration; write e.g. "10m" or "1h"` });
    return z.NEVER;
  }
  return n;
});

const flagsSchema = z.looseObject({
  trace: z.string().min(1).optional(),
  "from-ledger": z.boolean().optional(),
  "write-trace": z.string().min(1).optional(),
  "run-length": durationFlag.optional(),
  "default-size": sizeFlag.optional(),
  capacity: z.array(sizeFlag).optional(),
  baseline: z.array(z.enum(BASELINES)).optional(),
  timer: durationFlag.optional(),
  "pull-rate": sizeFlag.optional(),
  json: z.boolean().optional(),
});

const GiB = 1024 ** 3;

export const simulateCommand: CommandSpec = {
  name: "simulate",
  summary: "replay a CI trace through the prune policy at several disk sizes",
  help: HELP,
  options: {
    trace: { type: "string" },
    "from-ledger": { type: "boolean" },
    "write-trace": { type: "string" },
    "run-length": { type: "string" },
    "default-size": { type: "string" },
    capacity: { type: "string", multiple: true },
    baseline: { type: "string", multiple: true },
    timer: { type: "string" },
    "pull-rate": { type: "string" },
    json: { type: "boolean" },
  },
  async run(ctx, values) {
    const f = parseFlags("simulate", flagsSchema, values);
    if ((f.trace === undefined) === (f["from-ledger"] !== true))
      throw new InputError(
        "usage",
        "imagekeeper simulate: give exactly one of --trace FILE and --from-ledger",
        {
          hint: "See imagekeeper simulate --help.",
        },
      );
    if (f["write-trace"] !== undefined && !f["from-ledger"])
      throw new InputError("usage", "imagekeeper simulate: --write-trace goes with --from-ledger", {
        hint: "A trace file given with --trace is already a trace.",
      });

    let runs: TraceRun[];
    const notes: string[] = [];
    if (f.trace !== undefined) {
      let text: string;
      try {
        text = readFileSync(f.trace, "utf8");
      } catch (e) {
        throw new InputError("usage", `cannot read the trace ${f.trace}: ${(e as Error).message}`, {
          file: f.trace,
          hint: "Give the path of a JSON Lines trace (docs/simulate.md).",
        });
      }
      runs = parseTrace(text, f.trace);
    } else {
      const read = readLedger(ctx.config.stateDir);
      if (read.problem) notes.push(`the ledger could not be used: ${read.problem}`);
      const t = traceFromLedger(read.ledger, {
        runLengthS: (f["run-length"] ?? 600_000) / 1000,
        defaultSizeBytes: f["default-size"] ?? 300 * 1024 * 1024,
      });
      runs = t.runs;
      if (t.unknownSizes)
        notes.push(`${t.unknownSizes} image(s) without a recorded size count as --default-size`);
      if (t.unknownApps) notes.push(`${t.unknownApps} run(s) could not be attributed to an app`);
      if (f["write-trace"] !== undefined) writeFileSync(f["write-trace"], formatTrace(runs));
    }

    const capacities = f.capacity ?? defaultCapacities(traceSummary(runs).peakDayBytes);
    const baselines: Baseline[] = f.baseline ?? ["autoprune"];
    const report = await compare(runs, {
      capacities: [...new Set(capacities)].sort((a, b) => a - b),
      config: ctx.config,
      baselines: [...new Set(baselines)],
      ...(f.timer !== undefined ? { timerEveryMs: f.timer === 0 ? null : f.timer } : {}),
      ...(f["pull-rate"] !== undefined ? { pullBytesPerSecond: f["pull-rate"] } : {}),
    });
    ctx.out(f.json ? `${JSON.stringify(report)}\n` : renderReport(report, notes));
    return { kind: "ok" };
  },
};

/** Capacities to simulate when none are given: fractions of the busiest day's working set. */
export function defaultCapacities(peakDayBytes: number): number[] {
  const base = Math.max(GiB, peakDayBytes);
  return [0.5, 0.75, 1, 1.25].map((k) => Math.max(GiB, Math.round((base * k) / GiB) * GiB));
}

const gib = (n: number) => formatBytes(n);
const ratioText = (r: number | null) => (r === null ? "n/a" : `${r.toFixed(2)}×`);

export function renderReport(r: SimulateReport, notes: string[] = []): string {
  const t = r.trace;
  const lines = [
    `trace: ${t.runs} runs, ${t.images} images (${gib(t.distinctBytes)}), ${t.from ?? "-"} to ${t.to ?? "-"}; busiest 24 hours use ${gib(t.peakDayBytes)}`,
    ...notes.map((n) => `note: ${n}`),
    "",
    [
      "CAPACITY".padEnd(10),
      "OVER".padStart(5),
      "PULLS".padStart(7),
      "RE-PULLED".padStart(11),
      "REFERENCE".padStart(11),
      "RATIO".padStart(7),
      "PEAK".padStart(10),
      "PRUNES".padStart(7),
      "DRAINS".padStart(7),
      "DELAYED".padStart(8),
      "MAX DELAY".padStart(10),
      "  BASELINES",
    ].join(" "),
  ];
  for (const x of r.results) {
    const prunes = (x.prunes.pruned ?? 0) + (x.prunes.insufficient ?? 0);
    const base = Object.entries(x.baselines)
      .map(([k, b]) => `${k} ${gib(b.repulledBytes)} (${ratioText(b.ratio)}, over ${b.overCapacityRuns})`)
      .join("; ");
    lines.push(
      [
        gib(x.capacityBytes).padEnd(10),
        String(x.overCapacityRuns).padStart(5),
        String(x.pulls).padStart(7),
        gib(x.repulledBytes).padStart(11),
        gib(x.reference.repulledBytes).padStart(11),
        ratioText(x.ratio).padStart(7),
        gib(x.peakBytes).padStart(10),
        String(prunes).padStart(7),
        String(x.gapDrains).padStart(7),
        String(x.delay.delayedRuns).padStart(8),
        `${Math.round(x.delay.maxS / 60)}m`.padStart(10),
        `  ${base}`,
      ].join(" "),
    );
  }
  lines.push(
    "",
    "OVER: runs whose pulls found the disk over capacity. RATIO: re-pulled bytes / the reference's (Belady, full disk).",
  );
  return `${lines.join("\n")}\n`;
}
