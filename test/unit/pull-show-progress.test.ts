// Showing pulls in flight (src/pull/show-progress.ts), driven with a fake clock: which view
// --json/--quiet/a terminal choose; what the log view logs per event and per tick (its tick rate
// follows the interval and the stall time); the live block drawn on stderr at each tick, with log
// lines and result lines printed above it; the off view printing only result lines; and stop()
// ending the ticking (and erasing the block).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { initLogger, logger, setLogWriter, settingsFromEnv } from "../../src/log.js";
import type { PlannedImage } from "../../src/pull/plan.js";
import type { PullProgress } from "../../src/pull/progress.js";
import type { ImageResult } from "../../src/pull/report.js";
import { type ProgressMode, progressMode, startProgress } from "../../src/pull/show-progress.js";

const img = (ref: string) => ({ ref }) as PlannedImage;
const result = (ref: string, action: string) => ({ ref, action }) as ImageResult;
const progress = (phase: PullProgress["phase"], bytesDone: number, bytesTotal: number): PullProgress => ({
  phase,
  bytesDone,
  bytesTotal,
  layers: { total: 1, waiting: 0, downloading: 1, extracting: 0, done: 0, existing: 0 },
  waitingMs: 0,
  pullingMs: 0,
  digest: undefined,
});

describe("progressMode", () => {
  it.each([
    [{ json: false, quiet: false, stderrTTY: true }, "live"],
    [{ json: false, quiet: false, stderrTTY: false }, "log"],
    [{ json: true, quiet: false, stderrTTY: true }, "off"],
    [{ json: false, quiet: true, stderrTTY: true }, "off"],
    [{ json: true, quiet: false, stderrTTY: false }, "off"],
    [{ json: false, quiet: true, stderrTTY: false }, "off"],
    [{ json: true, quiet: true, stderrTTY: true }, "off"],
  ])("%o → %s", (o, mode) => {
    expect(progressMode(o)).toBe(mode);
  });
});

/** Every write in order: which stream, and the text. */
let writes: [string, string][];
let logged: Record<string, unknown>[];
const io = {
  stdout: { write: (s: string) => writes.push(["stdout", s]) },
  stderr: { write: (s: string) => writes.push(["stderr", s]) },
  columns: () => 80,
};
const on = (stream: string) =>
  writes
    .filter(([s]) => s === stream)
    .map(([, t]) => t)
    .join("");
const ERASE = (n: number) => `\r\u001b[${n}A\u001b[J`;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
  writes = [];
  logged = [];
  initLogger({ ...settingsFromEnv({}), format: "json", level: "info", quiet: false, journal: false });
});
afterEach(() => {
  setLogWriter(undefined);
  initLogger(settingsFromEnv());
  vi.useRealTimers();
});
const captureLog = () => setLogWriter((t) => logged.push(JSON.parse(t) as Record<string, unknown>));

describe("off (--json, --quiet)", () => {
  it("prints only the result lines, on stdout, and runs no timer", () => {
    captureLog();
    const v = startProgress("off", { total: 1, intervalMs: 1000, stallMs: 1000 }, io);
    expect(vi.getTimerCount()).toBe(0);
    v.onStart(img("a"), 1);
    v.onProgress(img("a"), progress("downloading", 1, 10));
    vi.advanceTimersByTime(10_000);
    v.onResult(result("a", "pulled"), "a pulled\n");
    v.onResult(result("b", "pulled"), undefined);
    v.stop();
    expect(writes).toEqual([["stdout", "a pulled\n"]]);
    expect(logged).toEqual([]);
  });
});

describe("log (stderr not a terminal)", () => {
  it("logs each event, ticks at a quarter of the interval, and stop() stops the ticking", () => {
    captureLog();
    // A quarter of the interval (250 ms) is under a quarter of the stall time and over 100 ms.
    const v = startProgress("log", { total: 2, intervalMs: 1000, stallMs: 1_000_000 }, io);
    vi.advanceTimersByTime(50);
    v.onStart(img("a"), 1);
    v.onProgress(img("a"), progress("waiting", 0, 10));
    expect(logged.map((l) => [l.level, l.msg, l.ref, l.phase, l.elapsedMs])).toEqual([
      [30, "pulling a", "a", "starting", 0],
      [30, "a: waiting for a download slot", "a", "waiting", 0],
    ]);
    // Due at 1050; the first tick after that is at 1250.
    vi.advanceTimersByTime(1199);
    expect(logged).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(logged.slice(2).map((l) => [l.msg, l.elapsedMs])).toEqual([
      ["still pulling a: 0/10 B, 1s, waiting for a download slot", 1200],
    ]);
    v.onResult(result("a", "pulled"), "a pulled\n");
    v.stop();
    vi.advanceTimersByTime(10_000);
    expect(logged).toHaveLength(3);
    // Nothing on stderr but the log (captured here); the result line on stdout.
    expect(writes).toEqual([["stdout", "a pulled\n"]]);
  });

  it("ticks at a quarter of the stall time when that is shorter", () => {
    captureLog();
    const v = startProgress("log", { total: 1, intervalMs: 1_000_000, stallMs: 1000 }, io);
    vi.advanceTimersByTime(50);
    v.onStart(img("a"), 2);
    // Stalled from 1050 on; seen at the tick at 1250.
    vi.advanceTimersByTime(1200);
    expect(logged.map((l) => [l.level, l.msg, l.stalledMs, l.attempt])).toEqual([
      [30, "pulling a (attempt 2)", undefined, 2],
      [40, "a: stalled: no bytes for 1s", 1200, 2],
    ]);
    v.stop();
  });

  it("never ticks faster than every 100 ms, nor slower than every second", () => {
    captureLog();
    const fast = startProgress("log", { total: 1, intervalMs: 200, stallMs: 1_000_000 }, io);
    vi.advanceTimersByTime(50);
    fast.onStart(img("a"), 1);
    // Due at 250: every 100 ms, the tick at 300.
    vi.advanceTimersByTime(250);
    expect(logged.map((l) => l.elapsedMs)).toEqual([0, 250]);
    fast.stop();
    logged = [];
    vi.setSystemTime(0);
    const slow = startProgress("log", { total: 1, intervalMs: 1_000_000, stallMs: 8000 }, io);
    slow.onStart(img("b"), 1);
    // Stalled from 8000 on: every second, the tick at 8000 (a quarter would be 2 s).
    vi.advanceTimersByTime(8000);
    expect(logged.map((l) => [l.msg, l.stalledMs])).toEqual([
      ["pulling b", undefined],
      ["b: stalled: no bytes for 8s", 8000],
    ]);
    slow.stop();
  });
});

describe("live (stderr a terminal)", () => {
  const settings = { total: 2, intervalMs: 1000, stallMs: 1_000_000 };

  it("draws the block each 250 ms, logs nothing of its own, and prints results and logs above it", () => {
    const v = startProgress("live", settings, io);
    v.onStart(img("a"), 1);
    v.onProgress(img("a"), progress("downloading", 5, 10));
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(249);
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(writes).toEqual([
      ["stderr", "pulling 0/2 done, 1 in flight  5/10 B\n  a  downloading  5/10 B  0s\n"],
    ]);
    writes = [];
    // A result line: the block erased, the line on stdout, the block again.
    v.onResult(result("a", "failed"), "a failed\n");
    expect(writes).toEqual([
      ["stderr", ERASE(2)],
      ["stdout", "a failed\n"],
      ["stderr", "pulling 0/2 done, 1 in flight  5/10 B\n  a  downloading  5/10 B  0s\n"],
    ]);
    writes = [];
    // A log line: above the block, on stderr.
    logger().warn("hello");
    expect(writes).toHaveLength(3);
    expect(writes[0]).toEqual(["stderr", ERASE(2)]);
    expect(JSON.parse(writes[1]![1])).toMatchObject({ level: 40, msg: "hello" });
    writes = [];
    vi.advanceTimersByTime(250);
    expect(writes).toEqual([["stderr", `${ERASE(2)}pulling 1/2 done, 1 failed, 0 in flight\n`]]);
    writes = [];
    v.stop();
    expect(writes).toEqual([["stderr", ERASE(1)]]);
    writes = [];
    vi.advanceTimersByTime(10_000);
    expect(writes).toEqual([]);
  });

  it("counts a pulled image as done, not failed", () => {
    const v = startProgress("live", settings, io);
    v.onStart(img("a"), 1);
    v.onResult(result("a", "pulled"), undefined);
    vi.advanceTimersByTime(250);
    expect(on("stderr")).toBe("pulling 1/2 done, 0 in flight\n");
    expect(on("stdout")).toBe("");
    v.stop();
  });
});

it.each<ProgressMode>(["live", "log"])("%s: stop() leaves no timer", (mode) => {
  const v = startProgress(mode, { total: 1, intervalMs: 1000, stallMs: 1000 }, io);
  expect(vi.getTimerCount()).toBe(1);
  v.stop();
  expect(vi.getTimerCount()).toBe(0);
});
