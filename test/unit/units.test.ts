// Durations (text forms), bytes and the retry backoff: the boundaries of each unit and the cap.
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { backoffDelay, sleep } from "../../src/pull/backoff.js";
import { durationMs, formatBytes, formatDuration, parseDuration } from "../../src/util/duration.js";

describe("parseDuration: text forms", () => {
  it.each([
    ["0", 0],
    ["1.5", 1500],
    ["1.2345", 1235],
    [" 2s ", 2000],
    ["1ms", 1],
    ["1s", 1000],
    ["1m", 60_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
    ["1.5h", 5_400_000],
    ["1.25s", 1250],
    ["0.5ms", 1],
    ["1d2h3m4s5ms", 93_784_005],
    ["2s2s", 4000],
    ["2s3", undefined],
    ["2 s", undefined],
    ["s", undefined],
    ["ms", undefined],
    ["-1s", undefined],
    ["1.s", undefined],
    ["1w", undefined],
    ["   ", undefined],
  ])("%j → %j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it("a failed parse does not disturb the next one", () => {
    expect(parseDuration("5m10x")).toBeUndefined();
    expect(parseDuration("10s")).toBe(10_000);
    expect(parseDuration("1h1")).toBeUndefined();
    expect(parseDuration("1h")).toBe(3_600_000);
  });
  it("as a config field: text to milliseconds, or an issue that says how to write one", () => {
    expect(durationMs.parse("5m")).toBe(300_000);
    const r = durationMs.safeParse("soon");
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message)).toEqual([
      '"soon" is not a duration; write e.g. "90s", "10m", "24h", "1h30m", or a number of seconds',
    ]);
  });
});

describe("formatDuration: each unit up to its boundary", () => {
  it.each([
    [0, "0ms"],
    [0.4, "0ms"],
    [999, "999ms"],
    [999.6, "1000ms"],
    [1000, "1.0s"],
    [1550, "1.6s"],
    [59_999, "60.0s"],
    [60_000, "1m0s"],
    [90_500, "1m31s"],
    [3_599_999, "59m60s"],
    [3_600_000, "1h0m"],
    [5_430_000, "1h31m"],
    [86_399_999, "23h60m"],
    [86_400_000, "1d0h"],
    [2 * 86_400_000 + 5 * 3_600_000 + 1_800_000, "2d6h"],
  ])("%f ms → %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [1024 ** 2 - 1, "1024.0 KiB"],
    [1024 ** 2, "1.0 MiB"],
    [3.25 * 1024 ** 3, "3.3 GiB"],
    [1024 ** 4, "1.0 TiB"],
    [1024 ** 5, "1024.0 TiB"],
    [-2048, "-2.0 KiB"],
    [-1023, "-1023 B"],
  ])("%i → %s", (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});

describe("backoffDelay", () => {
  const p = { baseMs: 1000, capMs: 8000 };
  it.each([
    // next attempt, random → delay: half fixed, half jitter, doubling from the base, capped.
    [1, 0, 500],
    [2, 0, 500],
    [2, 0.5, 750],
    [3, 0, 1000],
    [4, 0.25, 2500],
    [5, 0, 4000],
    [5, 0.999, 7996],
    [6, 0, 4000],
    [6, 0.999, 7996],
    [30, 0.5, 6000],
  ])("attempt %i, random %f: %i ms", (next, r, ms) => {
    expect(backoffDelay(next, p, () => r)).toBe(ms);
  });
  it("uses Math.random by default, within [exp/2, exp)", () => {
    for (let i = 0; i < 20; i++) {
      const d = backoffDelay(3, p);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });
});

describe("sleep", () => {
  it("resolves after the time, and no longer listens to the signal", async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    await sleep(20, ac.signal);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
  it("resolves without a signal", async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
  });
  it("an already aborted signal rejects at once with its reason", async () => {
    const ac = new AbortController();
    ac.abort(new Error("gone"));
    const t0 = performance.now();
    await expect(sleep(10_000, ac.signal)).rejects.toThrow("gone");
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
  it("an abort while sleeping rejects with the reason", async () => {
    const ac = new AbortController();
    const s = sleep(10_000, ac.signal);
    setTimeout(() => ac.abort(new Error("stop")), 5);
    await expect(s).rejects.toThrow("stop");
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});
