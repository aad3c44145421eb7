// Logging: pino. JSON lines on stderr when stderr is not a TTY (journald and CI keep them);
// short readable lines on a TTY. stdout stays free for results (--json documents, image lists).
import { type Logger, pino } from "pino";

let current: Logger | undefined;

const LEVEL_NAMES: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

/** A minimal pretty printer, so the bundle needs no pino-pretty (and its worker threads). */
function prettyStream(): { write(line: string): void } {
  return {
    write(line: string) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stderr.write(line);
        return;
      }
      const { level, time, msg, pid: _pid, hostname: _h, ...rest } = rec;
      const t = new Date(Number(time)).toISOString().slice(11, 19);
      const extras = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      const lvl = LEVEL_NAMES[Number(level)] ?? String(level);
      process.stderr.write(`${t} ${lvl.padEnd(5)} ${String(msg ?? "")}${extras ? `  ${extras}` : ""}\n`);
    },
  };
}

export function initLogger(level: string = process.env.IMAGEKEEPER_LOG_LEVEL ?? "info"): Logger {
  const opts = {
    level,
    base: { pid: process.pid },
    redact: { paths: ["password", "*.password", "token", "*.token"], censor: "[redacted]" },
  };
  current = process.stderr.isTTY
    ? pino(opts, prettyStream())
    : pino(opts, pino.destination({ fd: 2, sync: true }));
  return current;
}

export function logger(): Logger {
  return current ?? initLogger();
}
