// What an output stream is: a terminal a person watches (colour, a width to wrap to, live redraws
// allowed) or anything else (a pipe, a CI log, a file, the journal: no colour, no wrapping, no
// redraws, one line per event). Renderers take a Terminal instead of looking at process.* so that
// tests can render the same events at 80 and 160 columns, TTY and not.

export interface Terminal {
  /** A terminal: live redraws are allowed. */
  tty: boolean;
  /** Width to wrap or fit to; undefined = do not wrap (a pipe, a log file, the journal). */
  columns: number | undefined;
  /** ANSI colour allowed: a terminal, NO_COLOR not set, TERM not "dumb". */
  color: boolean;
}

/** No terminal at all: what a CI log, a file or the journal gets. */
export const PLAIN: Terminal = { tty: false, columns: undefined, color: false };

/** https://no-color.org: set and not empty means no colour, whatever else says. */
export function noColor(env: NodeJS.ProcessEnv): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== "";
}

export function terminalOf(
  stream: { isTTY?: boolean | undefined; columns?: number | undefined },
  env: NodeJS.ProcessEnv,
): Terminal {
  if (!stream.isTTY) return PLAIN;
  const fromEnv = Number(env.COLUMNS);
  const columns =
    stream.columns && stream.columns > 0
      ? stream.columns
      : Number.isInteger(fromEnv) && fromEnv > 0
        ? fromEnv
        : 80;
  return { tty: true, columns, color: !noColor(env) && env.TERM !== "dumb" };
}
