// What `imagekeeper prune` prints. `--json`: one document whose zod schema below is the contract
// (docs/prune.md documents it); otherwise a short summary, and with `--dry-run` the whole plan, one
// line per image: order, kept or removable, size, last use, name and reason.
import { z } from "zod";
import { OUTCOMES, type PruneOutcome } from "../model/prune-outcome.js";
import { formatBytes, formatDuration } from "../util/duration.js";
import { table, truncate, wrap } from "../ui/text.js";
import type { ExecutionResult, Removed } from "./execute.js";
import { type DiskUsage, roundPercent, targetFreeBytes } from "./measure.js";
import { describeBlocked, type PlannedImage, type PrunePlan, reasonText } from "./plan.js";

const usageSchema = z.strictObject({ usedPercent: z.number(), freeBytes: z.number().int() });
const entrySchema = z.strictObject({ ref: z.string(), id: z.string(), reason: z.string() });

export const pruneResultSchema = z.strictObject({
  outcome: z.enum(OUTCOMES),
  before: usageSchema,
  after: usageSchema,
  removed: z.array(entrySchema),
  kept: z.array(entrySchema),
});
export type PruneResult = z.output<typeof pruneResultSchema>;
type Entry = z.output<typeof entrySchema>;

export const usageOf = (d: DiskUsage) => ({
  usedPercent: roundPercent(d.usedPercent),
  freeBytes: d.freeBytes,
});

const entry = (p: PlannedImage, reason = reasonText(p)): Entry => ({ ref: p.ref, id: p.id, reason });

/** A removable image the prune did not need to remove. */
const notNeeded = (p: PlannedImage, why: string): Entry =>
  entry(p, `not-needed (#${p.order}, ${p.code}): ${why}; ${p.reason}`);

/** The --json document of a real prune. Kept lists every image looked at that is still there. */
export function resultOf(
  outcome: PruneOutcome,
  before: DiskUsage,
  after: DiskUsage,
  plan: PrunePlan | null,
  exec: ExecutionResult | null,
): PruneResult {
  const kept: Entry[] = plan ? plan.kept.map((p) => entry(p)) : [];
  if (plan && exec) {
    for (const s of exec.skipped)
      kept.push(entry(s.image, `skipped (#${s.image.order}, ${s.image.code}): ${s.why}`));
    for (const p of exec.notNeeded)
      kept.push(
        notNeeded(p, "the target (below the low watermark, maxFree free) was reached before its turn"),
      );
  } else if (plan) {
    for (const p of plan.removable) kept.push(notNeeded(p, `nothing removed: ${plan.gate.reason}`));
  }
  return pruneResultSchema.parse({
    outcome,
    before: usageOf(before),
    after: usageOf(after),
    removed: exec ? exec.removed.map((r) => entry(r.image)) : [],
    kept,
  });
}

/** Usage after removing `bytes`, by image sizes (what --dry-run can predict). */
export function predictedAfter(d: DiskUsage, bytes: number): DiskUsage {
  const usedBytes = Math.max(0, d.usedBytes - bytes);
  const capacity = d.usedBytes + d.freeBytes;
  return {
    ...d,
    usedBytes,
    freeBytes: d.freeBytes + (d.usedBytes - usedBytes),
    usedPercent: capacity > 0 ? (usedBytes / capacity) * 100 : 0,
  };
}

/** The --json document of a dry run: removed and after are what a prune now is expected to do. */
export function dryRunResultOf(plan: PrunePlan): PruneResult {
  const expected = plan.removable.slice(0, plan.expectedRemovals);
  const rest = plan.removable.slice(plan.expectedRemovals);
  const after = predictedAfter(
    plan.before,
    expected.reduce((n, p) => n + p.sizeBytes, 0),
  );
  const why = plan.gate.proceed
    ? "expected to reach the target (below the low watermark, maxFree free) before its turn"
    : `nothing removed: ${plan.gate.reason}`;
  return pruneResultSchema.parse({
    outcome: plan.outcome,
    before: usageOf(plan.before),
    after: usageOf(after),
    removed: expected.map((p) => entry(p)),
    kept: [...plan.kept.map((p) => entry(p)), ...rest.map((p) => notNeeded(p, why))],
  });
}

/** "; minFree 4.0 GiB, maxFree 8.0 GiB" (the absolute thresholds that are set), or "". Also status's. */
export function freeThresholdsText(w: { minFree?: number | null; maxFree?: number | null }): string {
  const free = [
    ...(w.minFree == null ? [] : [`minFree ${formatBytes(w.minFree)}`]),
    ...(w.maxFree == null ? [] : [`maxFree ${formatBytes(w.maxFree)}`]),
  ];
  return free.length ? `; ${free.join(", ")}` : "";
}

function diskLine(d: DiskUsage, w: Watermarks): string {
  return `${d.path}: ${roundPercent(d.usedPercent)}% used, ${formatBytes(d.freeBytes)} free (watermarks: low ${w.low}%, high ${w.high}%, critical ${w.critical}%${freeThresholdsText(w)})`;
}

export interface Watermarks {
  low: number;
  high: number;
  critical: number;
  /** prune.minFree / prune.maxFree (bytes; null or absent when off). */
  minFree?: number | null;
  maxFree?: number | null;
}

/**
 * The whole plan, for --dry-run. `width`: a terminal's columns; the table then fits them (the
 * image name cut in the middle, the reason on wrapped lines under its row, the last use without
 * its date under 120 columns). Without a width (a pipe, a log): one line per image, nothing cut.
 */
export function renderPlan(plan: PrunePlan, w: Watermarks, now: Date, width?: number): string {
  const lines: string[] = [];
  const say = (text: string, indent = "  ") =>
    lines.push(...wrap(text, width, { first: indent, indent: `${indent}       ` }));
  lines.push(
    ...wrap(`imagekeeper prune --dry-run: expected outcome ${plan.outcome} (nothing was changed)`, width),
  );
  say(`disk   ${diskLine(plan.before, w)}`);
  say(`gate   ${plan.gate.reason}`);
  if (plan.gate.proceed) {
    const free = targetFreeBytes(w);
    const incoming =
      plan.incomingBytes > 0 ? `, with room for ${formatBytes(plan.incomingBytes)} incoming` : "";
    say(
      `target free ${formatBytes(plan.targetBytes)} to get below ${w.low}%${free > 0 ? ` with ${formatBytes(free)} free` : ""}${incoming}`,
    );
    say(`dangling step: ${plan.dangling.method} (${plan.dangling.why})`);
    say(`expected removals: ${plan.expectedRemovals} of ${plan.removable.length} removable image(s)`);
  }
  lines.push("");
  const compact = width !== undefined && width < 120;
  const ago = (p: PlannedImage) => formatDuration(Math.max(0, now.getTime() - Date.parse(p.lastUse)));
  const lastUse = (p: PlannedImage) =>
    compact
      ? `${ago(p)} ago, ${p.lastUseSource}`
      : `${p.lastUse.slice(0, 16).replace("T", " ")} (${ago(p)} ago, ${p.lastUseSource})`;
  const rows = [
    ...plan.removable.map((p, i) => ({
      p,
      order: String(p.order),
      action: i < plan.expectedRemovals ? "remove" : "removable",
    })),
    ...plan.kept.map((p) => ({ p, order: "-", action: "keep" })),
  ];
  lines.push(
    ...table({
      columns: [
        { header: "ORDER", cell: (r) => r.order },
        { header: "ACTION", cell: (r) => r.action },
        { header: "SIZE", cell: (r) => formatBytes(r.p.sizeBytes) },
        { header: "LAST USE", cell: (r) => lastUse(r.p) },
        { header: "IMAGE", cell: (r) => r.p.names.join(", "), shrink: { min: 16 } },
        { header: "REASON", cell: (r) => `${r.p.code}: ${r.p.reason}`, moveUnder: true },
      ],
      rows,
      width,
    }),
  );
  if (plan.outcome === "insufficient")
    lines.push("", ...wrap(`blocked: ${describeBlocked(plan.kept)}`, width));
  return `${lines.join("\n")}\n`;
}

/**
 * A removal as a terminal shows it while the prune runs: the image, its size, its class and place
 * in the order, and the disk right after.
 */
export function removalLine(r: Removed, width?: number): string {
  const p = r.image;
  const cls = p.order !== null ? `${p.code} #${p.order}` : p.code;
  const after = r.after
    ? `→ ${roundPercent(r.after.usedPercent)}% used, ${formatBytes(r.after.freeBytes)} free`
    : "(by docker image prune)";
  const tail = `  ${formatBytes(p.sizeBytes)}  ${cls}  ${after}`;
  const room = width === undefined ? Infinity : width - 1 - tail.length - "removed ".length;
  const name = room >= 12 ? truncate(p.ref, room, "middle") : p.ref;
  return `removed ${name}${tail}`;
}

/** The one summary line of a real prune on a terminal (removals were shown as they happened). */
export function summaryLine(
  r: PruneResult,
  reason: string,
  before: DiskUsage,
  after: DiskUsage,
  width?: number,
): string[] {
  const freed = after.freeBytes - before.freeBytes;
  const moved =
    r.outcome === "pruned" || r.outcome === "insufficient"
      ? `: ${r.removed.length} image(s) removed, ${formatBytes(freed)} freed (measured), ${roundPercent(before.usedPercent)}% → ${roundPercent(after.usedPercent)}% used, ${formatBytes(after.freeBytes)} free`
      : "";
  return wrap(`prune ${r.outcome}${moved}; ${reason}`, width, { indent: "  " });
}

/** The summary of a real prune. */
export function renderResult(
  r: PruneResult,
  reason: string,
  before: DiskUsage,
  after: DiskUsage,
  w: Watermarks,
  plan: PrunePlan | null,
): string {
  const lines: string[] = [];
  lines.push(`imagekeeper prune: ${r.outcome}: ${reason}`);
  lines.push(`  before ${diskLine(before, w)}`);
  if (r.outcome === "pruned" || r.outcome === "insufficient") {
    lines.push(`  after  ${diskLine(after, w)}`);
    lines.push(
      `  freed  ${formatBytes(after.freeBytes - before.freeBytes)} (measured), ${r.removed.length} image(s) removed`,
    );
    for (const x of r.removed) lines.push(`  removed ${x.ref} ${x.id.slice(7, 19)}: ${x.reason}`);
    for (const x of r.kept.filter((k) => k.reason.startsWith("skipped")))
      lines.push(`  skipped ${x.ref} ${x.id.slice(7, 19)}: ${x.reason}`);
  }
  if (r.outcome === "insufficient" && plan) lines.push(`  blocked: ${describeBlocked(plan.kept)}`);
  return `${lines.join("\n")}\n`;
}
