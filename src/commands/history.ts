// `imagekeeper history [--since DURATION|TIME] [--kind KIND] [--json]`: what prepulls and prunes did
// recently, from the state dir's bounded journal (src/state/journal.ts). Reads only.
import { z } from "zod";
import { InputError } from "../errors.js";
import { JOURNAL_KINDS, type JournalEntry, journalPath, readJournal } from "../state/journal.js";
import type { Terminal } from "../ui/terminal.js";
import { table } from "../ui/text.js";
import { formatBytes, formatDuration, parseSince } from "../util/duration.js";
import { parseFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

const HELP = `Usage: imagekeeper history [--since DURATION|TIME] [--kind prepull|prune|removal] [--json]

Shows what prepulls and prunes did, oldest first, from the journal in the state dir
(STATE_DIR/journal.jsonl): each prepull (recipe, app, version, images pulled, present and failed,
error classes, duration), each prune that was not a routine "no-pressure" check (outcome, usage
before and after, bytes freed as measured), and each image a prune removed (size, why). The journal
keeps the newest 0.5–1 MiB of events (a few thousand). Damaged lines are skipped and reported.
Changes nothing.

Options:
  --since DURATION|TIME  only events since then: an age such as 24h or 7d, or a date/time such as
                         2025-03-01 or 2025-03-01T02:00 (local time unless a zone is given)
  --kind KIND            only prepull, prune or removal events (repeatable)
  --json                 print {file, entries: [...], problems: [...]} (docs/operations.md)

Exit status:
  0        shown
  2        bad input (an unreadable --since, an unknown --kind, a bad config)
  70       an internal error
  130/143  interrupted by SIGINT/SIGTERM`;

const flagsSchema = z.looseObject({
  since: z.string().optional(),
  kind: z.array(z.enum(JOURNAL_KINDS as [JournalEntry["kind"], ...JournalEntry["kind"][]])).optional(),
  json: z.boolean().optional(),
});

export const historyCommand: CommandSpec = {
  name: "history",
  summary: "recent prepulls, prunes and image removals, from the state dir's journal",
  help: HELP,
  options: {
    since: { type: "string" },
    kind: { type: "string", multiple: true, arg: "KIND", complete: JOURNAL_KINDS },
  },
  async run(ctx, values) {
    const f = parseFlags("history", flagsSchema, values);
    const now = new Date();
    let since: Date | undefined;
    if (f.since !== undefined) {
      since = parseSince(f.since, now);
      if (!since)
        throw new InputError(
          "usage",
          `imagekeeper history: --since "${f.since}" is neither a duration nor a date`,
          {
            hint: "Write an age such as 24h or 7d, or a date such as 2025-03-01 or 2025-03-01T02:00.",
          },
        );
    }
    const read = readJournal(ctx.config.stateDir);
    const entries = read.entries.filter(
      (e) => (!since || Date.parse(e.at) >= since.getTime()) && (!f.kind || f.kind.includes(e.kind)),
    );
    if (ctx.json) {
      ctx.out(
        `${JSON.stringify({ file: journalPath(ctx.config.stateDir), entries, problems: read.problems })}\n`,
      );
      return { kind: "ok" };
    }
    ctx.out(renderHistory(entries, read.problems, ctx.stdout));
    return { kind: "ok" };
  },
};

function localTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** One sentence per event. */
export function describeEntry(e: JournalEntry): string {
  switch (e.kind) {
    case "prepull": {
      const what = `${e.recipe ?? "?"}${e.version ? `@${e.version}` : ""}${e.app ? ` (${e.app})` : ""}`;
      const counts = [`${e.pulled} pulled`, `${e.present} present`];
      if (e.failed) counts.push(`${e.failed} failed`);
      if (e.notAttempted) counts.push(`${e.notAttempted} not attempted`);
      const classes = e.errorClasses.length ? ` [${e.errorClasses.join(", ")}]` : "";
      return `${what}: ${e.ok ? "ok" : "FAILED"}, ${e.images} images (${counts.join(", ")})${classes} in ${formatDuration(e.durationMs)}`;
    }
    case "prune":
      return `${e.outcome}: ${e.before.usedPercent}% → ${e.after.usedPercent}%, freed ${formatBytes(e.freedBytes)}, ${e.removed} removed; ${e.reason}`;
    case "removal":
      return `${e.ref} (${formatBytes(e.sizeBytes)}): ${e.reason}`;
  }
}

export function renderHistory(
  entries: readonly JournalEntry[],
  problems: readonly string[],
  term: Terminal,
): string {
  const lines =
    entries.length === 0
      ? ["no events recorded (prepulls and prunes append to the journal as they run)"]
      : table({
          columns: [
            { header: "TIME", cell: (e: JournalEntry) => localTime(e.at) },
            { header: "KIND", cell: (e) => e.kind },
            { header: "WHAT", cell: describeEntry },
          ],
          rows: entries,
          width: term.columns,
          wrapLast: true,
        });
  for (const p of problems) lines.push(`problem: ${p}`);
  return `${lines.join("\n")}\n`;
}
