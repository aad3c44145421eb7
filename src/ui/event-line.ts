// One readable line per event: what a person reads in a terminal, a CI log or the journal.
//   14:02:11 warn  pull failed; retrying after backoff  ref=nginx:1.25 errorClass=rate-limited
//   14:02:12 error image failed  ref=x:9 — fix: check the tag exists
// In the journal (stderr is journald's stream) the time goes (journald stamps every line) and a
// syslog priority prefix comes first, which journald strips and stores as PRIORITY, so
// `journalctl -p warning` filters: sd-daemon(3), "<4>" warning, "<3>" err, …
// On a terminal the line is wrapped to its width under a hanging indent; elsewhere never (a CI
// log has no width, and wrapping would split what grep should find on one line).
import { formatBytes, formatDuration } from "../util/duration.js";
import { paint } from "./color.js";
import type { Terminal } from "./terminal.js";
import { wrap } from "./text.js";

export const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export type LevelName = (typeof LEVELS)[number];

/** sd-daemon(3) / syslog(3) priorities: LOG_CRIT 2, LOG_ERR 3, LOG_WARNING 4, LOG_INFO 6, LOG_DEBUG 7. */
export const SYSLOG_PRIORITY: Record<LevelName, number> = {
  trace: 7,
  debug: 7,
  info: 6,
  warn: 4,
  error: 3,
  fatal: 2,
};

export interface LogEvent {
  time: Date;
  level: LevelName;
  msg: string;
  /** The fields to show, in order (already chosen: see src/log.ts). */
  fields: [string, unknown][];
  /** What to do about it (an error's fix). */
  hint?: string | undefined;
}

export interface EventStyle {
  terminal: Terminal;
  /** stderr is the journal: priority prefix, no time, no colour, no wrapping. */
  journal: boolean;
}

function clock(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * `key=value` as a person reads it: durations (`…Ms`) and sizes (`…Bytes`) in units under the
 * key without its suffix, strings quoted only when they contain blanks, quotes or `=`.
 */
export function fieldText(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && /.Ms$/.test(key)) return `${key.slice(0, -2)}=${formatDuration(value)}`;
  if (typeof value === "number" && /.Bytes$/.test(key)) return `${key.slice(0, -5)}=${formatBytes(value)}`;
  let text: string;
  if (value instanceof Error) text = value.message;
  else if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "boolean") return `${key}=${String(value)}`;
  else if (Array.isArray(value) && value.every((v) => typeof v !== "object" || v === null))
    text = value.map(String).join(",");
  else if (typeof value === "object" && "message" in value && typeof value.message === "string")
    text = value.message; // a serialised error
  else return `${key}=${JSON.stringify(value)}`;
  return `${key}=${text !== "" && /^[^\s"'=]+$/.test(text) ? text : JSON.stringify(text)}`;
}

/** The event as text: one line, or (a message with newlines, or wrapped on a terminal) several. */
export function formatEvent(e: LogEvent, style: EventStyle): string {
  const fields = e.fields.flatMap(([k, v]) => fieldText(k, v) ?? []);
  let body = e.msg;
  if (fields.length) body += `  ${fields.join(" ")}`;
  if (e.hint) body += ` — fix: ${e.hint}`;
  const level = e.level.padEnd(5);

  if (style.journal) {
    const pri = `<${SYSLOG_PRIORITY[e.level]}>`;
    return wrap(body, undefined, { first: `${level} `, indent: "      " })
      .map((l) => pri + l)
      .join("\n");
  }
  const c = paint(style.terminal);
  const lvl =
    e.level === "error" || e.level === "fatal"
      ? c.bold(c.red(level))
      : e.level === "warn"
        ? c.yellow(level)
        : e.level === "info"
          ? level
          : c.dim(level);
  const first = `${c.dim(clock(e.time))} ${lvl} `;
  const lines = wrap(body, style.terminal.columns, { first, indent: " ".repeat(15) });
  if (!style.terminal.color || !e.hint) return lines.join("\n");
  return lines.join("\n").replace(" — fix: ", ` — ${c.cyan("fix:")} `);
}
