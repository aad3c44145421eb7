// `imagekeeper prune [--dry-run [--assume-usage PCT]] [--json]`: wiring only. The prune itself
// (facts → plan → lock → execute → record) is src/prune/run-prune.ts, shared with the gap prune
// before runs (src/prune/gap-prune.ts); the policy is decided in src/prune/plan.ts. This file
// parses flags and prints.
import { z } from "zod";
import { docker } from "../docker/cli.js";
import { dockerEndpoint, Engine } from "../docker/engine.js";
import { InputError } from "../errors.js";
import { logger } from "../log.js";
import type { DiskUsage } from "../prune/measure.js";
import { describeBlocked, type PrunePlan } from "../prune/plan.js";
import { type PruneResult, removalLine, renderPlan, renderResult, summaryLine } from "../prune/report.js";
import { runPrune } from "../prune/run-prune.js";
import { wrap } from "../ui/text.js";
import { parseFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

const HELP = `Usage: imagekeeper prune [--dry-run [--assume-usage PCT]] [--json]

Frees disk by the prune policy (docs/prune.md), and only under pressure: below
prune.highWatermarkPercent nothing happens; outside prune.window only usage at or above
prune.criticalWatermarkPercent prunes; with any live run lease (imagekeeper run, lease acquire) the
prune is deferred. Otherwise: dangling images older than prune.minAge, then unused images in
eviction order (superseded first, then farthest predicted next use), one at a time, measuring
the disk after each, until usage is below prune.lowWatermarkPercent. Never --force, never --all,
never containers or volumes.

Never removed: images of any container (any state), of a swarm service's spec or previous
(rollback) spec, matching prune.keep, or used less than prune.minAge ago.

Runs and prepulls also prune, in the gaps between runs: before a run takes its lease (or a
prepull pulls) with usage at or above the high watermark, they drain the host and prune first
(prune.beforeRuns, prune.gapWait; docs/prune.md "Gap prunes").

Options:
  --dry-run           print the whole plan (each image kept or removable, why, last use, size,
                      order); change nothing
  --assume-usage PCT  with --dry-run: plan as if the disk were PCT% used (0-100), e.g. to see
                      what a prune at the high watermark would remove now
  --json              print one JSON document: {outcome, before, after, removed, kept}

Exit status:
  0        every outcome (no-pressure, deferred, outside-window, pruned, insufficient)
  2        bad input (usage, bad config, --assume-usage without --dry-run)
  3        Docker daemon unreachable
  70       an internal error (e.g. the run dir or the state dir not usable, flock missing)
  130/143  interrupted by SIGINT/SIGTERM: the removal in progress finishes, nothing more is
           removed`;

const flagsSchema = z.looseObject({
  "dry-run": z.boolean().optional(),
  json: z.boolean().optional(),
  "assume-usage": z
    .string()
    .regex(/^\d+(\.\d+)?%?$/, "must be a percentage, e.g. 90")
    .transform((v) => Number(v.replace(/%$/, "")))
    .pipe(z.number().min(0).max(100))
    .optional(),
});

export const pruneCommand: CommandSpec = {
  name: "prune",
  summary: "remove unused images under disk pressure, by the prune policy",
  help: HELP,
  options: { "dry-run": { type: "boolean" }, json: { type: "boolean" }, "assume-usage": { type: "string" } },
  async run(ctx, values) {
    const f = parseFlags("prune", flagsSchema, values);
    const dryRun = f["dry-run"] ?? false;
    const assume = f["assume-usage"];
    if (assume !== undefined && !dryRun)
      throw new InputError("usage", "imagekeeper prune: --assume-usage is a what-if and needs --dry-run", {
        hint: "Add --dry-run: imagekeeper prune --dry-run --assume-usage 97. A real prune always uses the measured usage.",
      });
    const { config } = ctx;
    const cfg = config.prune;
    const w = {
      low: cfg.lowWatermarkPercent,
      high: cfg.highWatermarkPercent,
      critical: cfg.criticalWatermarkPercent,
      minFree: cfg.minFree,
      maxFree: cfg.maxFree,
    };
    // On a terminal (and without --json): a line per removal as it happens, one summary at the end,
    // and a dry-run table that fits the width.
    const tty = ctx.stdout.tty && !f.json;
    const width = ctx.stdout.tty ? ctx.stdout.columns : undefined;
    const r = await runPrune(
      {
        config,
        engine: new Engine(dockerEndpoint(ctx.env)),
        docker: docker(config.docker),
        log: logger(),
        signal: ctx.signal,
      },
      {
        dryRun,
        ...(assume !== undefined ? { assumeUsagePercent: assume } : {}),
        ...(tty && !dryRun ? { onRemoved: (x) => ctx.out(`${removalLine(x, width)}\n`) } : {}),
      },
    );
    if (f.json) ctx.out(`${JSON.stringify(r.result)}\n`);
    else if (dryRun) ctx.out(renderPlan(r.plan!, w, r.at, width));
    else if (tty) ctx.out(ttyEnd(r.result, r.reason, r.before, r.after, r.plan, width));
    else ctx.out(renderResult(r.result, r.reason, r.before, r.after, w, r.plan));
    return { kind: "ok" };
  },
};

/** The end of a prune on a terminal: what was skipped or blocks, then one summary line. */
function ttyEnd(
  r: PruneResult,
  reason: string,
  before: DiskUsage,
  after: DiskUsage,
  plan: PrunePlan | null,
  width: number | undefined,
): string {
  const lines: string[] = [];
  for (const x of r.kept.filter((k) => k.reason.startsWith("skipped")))
    lines.push(...wrap(`skipped ${x.ref}: ${x.reason}`, width, { indent: "  " }));
  if (r.outcome === "insufficient" && plan)
    lines.push(...wrap(`blocked: ${describeBlocked(plan.kept)}`, width, { indent: "  " }));
  lines.push(...summaryLine(r, reason, before, after, width));
  return `${lines.join("\n")}\n`;
}
