// Logging: pino underneath (levels, redaction of secrets, JSON lines on request), and by default one
// readable line per event on stderr, terminal or not: CI logs and the journal are read by people
// (src/ui/event-line.ts draws the line). stdout stays free for results (--json documents, lists).
//
// Call sites choose what a person sees: the message, plus the fields they mark with `human()`:
//   logger().info(human({ ref, durationMs, attempts, id }, ["ref", "durationMs"]), "image pulled")
// prints `… info  image pulled  ref=nginx:1.27 duration=1.2s`; the JSON line has every field. An
// unmarked call shows the few well-known fields in DEFAULT_SHOWN. A `hint` field is the fix and is
// always shown (`— fix: …`). Debug and trace events show every field.
//
// Formats: "human" (default) or "json" (--log-format, $IMAGEKEEPER_LOG_FORMAT, config logFormat).
// When stderr is the journal (systemd.exec(5): $JOURNAL_STREAM is stderr's device:inode), every
// line starts with its syslog priority "<N>" (sd-daemon(3)) and human lines drop the time.
// pino-pretty is not used: it runs in a worker thread, which the bundle leaves out
// (docs/decisions.md).
import { fstatSync } from "node:fs";
import { type Logger, pino } from "pino";
import { formatEvent, LEVELS, type LevelName, type LogEvent, SYSLOG_PRIORITY } from "./ui/event-line.js";
import { type Terminal, terminalOf } from "./ui/terminal.js";

export type LogFormat = "human" | "json";

export interface LogSettings {
  /** The threshold as asked for (--log-level, $IMAGEKEEPER_LOG_LEVEL, config logLevel). */
  level: LevelName;
  format: LogFormat;
  /** --quiet: warnings and errors only, whatever the level says (unless it says error). */
  quiet: boolean;
  /** stderr as a terminal (colour, width) or not. */
  terminal: Terminal;
  /** stderr is the journal: syslog priority prefixes, no time. */
  journal: boolean;
}

const SHOW = Symbol("imagekeeper.log.show");

/**
 * Mark which of `fields` a person should see on the human line (in this order). The JSON line
 * still carries every field; the mark itself never appears in it.
 */
export function human<T extends object>(fields: T, keys: readonly (keyof T & string)[]): T {
  return { ...fields, [SHOW]: keys };
}

/** Shown on a human line when the call site did not mark its fields with human(). */
export const DEFAULT_SHOWN = ["ref", "registry", "file", "path", "problem", "errorClass", "error", "err"];
/** Never shown on a human line, marked or not (pino's redaction covers the JSON line). */
const SECRET_KEY = /^(password|token|secret|auth|authorization|identitytoken)$/i;
const REDACT = ["password", "*.password", "token", "*.token", "secret", "*.secret"];

const LEVEL_OF_NUMBER: Record<number, LevelName> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

/**
 * Is stderr (fd 2) the journal? systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it
 * connected stdout/stderr to; a child whose stderr was redirected elsewhere inherits the variable
 * but not the stream, so the device and inode must match (systemd.exec(5), "$JOURNAL_STREAM").
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv, fd = 2): boolean {
  const js = env.JOURNAL_STREAM;
  if (!js) return false;
  const m = /^(\d+):(\d+)$/.exec(js);
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

export function effectiveLevel(s: Pick<LogSettings, "level" | "quiet">): LevelName {
  if (!s.quiet) return s.level;
  return LEVELS.indexOf(s.level) > LEVELS.indexOf("warn") ? s.level : "warn";
}

/** The settings from the environment alone (before the config is read, or in tests). */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): LogSettings {
  const level = (LEVELS as readonly string[]).includes(env.IMAGEKEEPER_LOG_LEVEL ?? "")
    ? (env.IMAGEKEEPER_LOG_LEVEL as LevelName)
    : "info";
  return {
    level,
    format: env.IMAGEKEEPER_LOG_FORMAT === "json" ? "json" : "human",
    quiet: false,
    terminal: terminalOf(process.stderr, env),
    journal: stderrIsJournal(env),
  };
}

/** Turn one pino call into the event a person reads. */
export function eventOf(
  level: LevelName,
  obj: Record<string | symbol, unknown>,
  msg: unknown,
  time: Date,
): LogEvent {
  const marked = obj[SHOW] as readonly string[] | undefined;
  const all = level === "debug" || level === "trace";
  const keys = all
    ? Object.keys(obj).filter((k) => k !== "hint" && k !== "msg")
    : (marked ?? DEFAULT_SHOWN).filter((k) => k in obj && k !== "hint");
  const err = obj.err;
  const text =
    typeof msg === "string"
      ? msg
      : err instanceof Error
        ? err.message
        : typeof obj.msg === "string"
          ? obj.msg
          : "";
  return {
    time,
    level,
    msg: text,
    fields: keys.filter((k) => !SECRET_KEY.test(k)).map((k) => [k, obj[k]]),
    hint: typeof obj.hint === "string" ? obj.hint : undefined,
  };
}

let settings: LogSettings | undefined;
let current: Logger | undefined;
let writer: ((text: string) => void) | undefined;
const writeStderr = (text: string) => {
  process.stderr.write(text);
};
let clock: () => Date = () => new Date();

/**
 * Send log lines somewhere else than stderr (a live progress block prints them above itself), or
 * back to stderr with undefined.
 */
export function setLogWriter(write: ((text: string) => void) | undefined): void {
  writer = write;
}

interface MetadataStream {
  lastLevel: number;
  lastObj: Record<string | symbol, unknown>;
  lastMsg: unknown;
  write(line: string): void;
}

function stream(s: LogSettings): MetadataStream {
  const out = (text: string) => (writer ?? writeStderr)(text);
  return {
    // pino sets lastLevel/lastObj/lastMsg before each write (what pino.multistream relies on).
    [Symbol.for("pino.metadata")]: true,
    lastLevel: 30,
    lastObj: {},
    lastMsg: undefined,
    write(line: string) {
      const level = LEVEL_OF_NUMBER[this.lastLevel] ?? "info";
      if (s.format === "json") {
        out(s.journal ? `<${SYSLOG_PRIORITY[level]}>${line}` : line);
        return;
      }
      out(`${formatEvent(eventOf(level, this.lastObj, this.lastMsg, clock()), s)}\n`);
    },
  } as MetadataStream;
}

export function initLogger(s: LogSettings = settingsFromEnv(), now?: () => Date): Logger {
  settings = s;
  if (now) clock = now;
  current = pino(
    {
      level: effectiveLevel(s),
      base: { pid: process.pid },
      redact: { paths: REDACT, censor: "[redacted]" },
    },
    stream(s),
  );
  return current;
}

export function logger(): Logger {
  return current ?? initLogger();
}

export function logSettings(): LogSettings {
  return settings ?? settingsFromEnv();
}
