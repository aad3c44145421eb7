// The routine pruning window: `prune.window` is a cron expression whose occurrences open the
// window, `prune.windowDuration` how long it stays open. Outside it only critical usage prunes.
// Times are the host's local time, as systemd timers and cron read them. cron-parser is loaded on
// first use: only prune and status need it, and a warm prepull should not pay for its evaluation.

export interface WindowState {
  /** False when no window is configured: routine pruning may happen at any time. */
  configured: boolean;
  open: boolean;
  /** ISO time the current window opened (when open and configured). */
  openedAt: string | null;
  /** ISO time the current window closes (when open and configured). */
  closesAt: string | null;
  /** ISO time of the next opening after now (null when not configured or never again). */
  nextOpen: string | null;
}

export const ALWAYS_OPEN: WindowState = {
  configured: false,
  open: true,
  openedAt: null,
  closesAt: null,
  nextOpen: null,
};

export async function windowState(cron: string | null, durationMs: number, now: Date): Promise<WindowState> {
  if (cron === null) return ALWAYS_OPEN;
  const { CronExpressionParser } = await import("cron-parser");
  // prev() is strictly before currentDate: start 1 ms later so an occurrence at exactly `now` counts.
  const back = CronExpressionParser.parse(cron, { currentDate: new Date(now.getTime() + 1) });
  const fwd = CronExpressionParser.parse(cron, { currentDate: now });
  const prev = back.hasPrev() ? back.prev().toDate() : null;
  const next = fwd.hasNext() ? fwd.next().toDate() : null;
  const closes = prev ? new Date(prev.getTime() + durationMs) : null;
  // Stryker disable next-line ConditionalExpression,LogicalOperator: a valid cron expression always has a previous occurrence, and closes is null exactly when prev is
  const open = prev !== null && closes !== null && now.getTime() < closes.getTime();
  return {
    configured: true,
    open,
    openedAt: open ? prev!.toISOString() : null,
    closesAt: open ? closes!.toISOString() : null,
    nextOpen: next ? next.toISOString() : null,
  };
}
