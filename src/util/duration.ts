import { z } from "zod";

// Durations as people write them in config and flags: "500ms", "2s", "10m", "24h", "7d", or
// compounds such as "1h30m". A bare number is seconds (as systemd reads it), in a string ("90")
// or, in the JSON config, as a number (90).
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  if (t === "") return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let pos = 0;
  for (;;) {
    const m = PART.exec(t);
    if (!m) break;
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    pos = PART.lastIndex;
  }
  return pos === t.length ? Math.round(total) : undefined;
}

/** A short, approximate duration for people ("1.2s", "3m20s", "1d4h"). Not parseable back exactly. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h${Math.round((ms % 3_600_000) / 60_000)}m`;
  return `${Math.floor(ms / 86_400_000)}d${Math.round((ms % 86_400_000) / 3_600_000)}h`;
}

const EXACT_UNITS: [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
];

/**
 * The exact text form of a whole number of milliseconds, which parseDuration reads back to the
 * same number: "24h", "1h30m", "1m0s" never, "90s" as "1m30s", "1500ms" as "1s500ms". Days only
 * from 2 days on, so the common "24h" and "36h" read as written.
 */
export function durationText(ms: number): string {
  let rest = Math.round(ms);
  if (rest <= 0) return "0s";
  let out = "";
  for (const [unit, size] of EXACT_UNITS) {
    if (unit === "d" && rest < 2 * size) continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

const DURATION_HINT = 'write e.g. "90s", "10m", "24h", "1h30m", or a number of seconds';

/**
 * zod type for a duration: accepts the text form or a number of seconds and yields milliseconds.
 * A codec, so `z.encode` turns a parsed config back into text (`config check` prints a config that
 * it accepts again: test/unit/config.test.ts).
 */
export const durationMs = z.codec(z.union([z.number(), z.string()]), z.number(), {
  decode: (v, ctx) => {
    const ms =
      typeof v === "number"
        ? Number.isFinite(v) && v >= 0
          ? Math.round(v * 1000)
          : undefined
        : parseDuration(v);
    if (ms === undefined) {
      ctx.issues.push({
        code: "custom",
        message: `${JSON.stringify(v)} is not a duration; ${DURATION_HINT}`,
        input: v,
      });
      return z.NEVER;
    }
    return ms;
  },
  encode: (ms) => durationText(ms),
});

/**
 * A point in time given as an age ("24h": that long ago) or as a date/time ("2025-03-01",
 * "2025-03-01T02:00", ISO 8601 with or without a zone; without one it is local time, as `date`
 * prints it). For `history --since`.
 */
export function parseSince(text: string, now: Date): Date | undefined {
  const t = text.trim();
  const ms = parseDuration(t);
  if (ms !== undefined) return new Date(now.getTime() - ms);
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t))
    return undefined;
  // A bare date is local midnight (Date.parse would read it as UTC).
  const d = /^\d{4}-\d{2}-\d{2}$/.test(t) ? new Date(`${t}T00:00:00`) : new Date(t.replace(" ", "T"));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
