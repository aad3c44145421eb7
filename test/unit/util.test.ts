import { describe, expect, it } from "vitest";
import { backoffDelay, sleep } from "../../src/pull/backoff.js";
import { parseDuration } from "../../src/util/duration.js";
import { runLimited } from "../../src/util/queue.js";

describe("backoffDelay", () => {
  const p = { baseMs: 2000, capMs: 30_000 };
  it.each([
    [2, 0, 1000],
    [2, 0.999, 1999],
    [3, 0, 2000],
    [4, 0, 4000],
    [5, 0.5, 12000],
    [9, 0, 15000],
    [9, 0.999, 29985],
  ])("attempt %i with random %f waits %i ms", (next, r, ms) => {
    expect(backoffDelay(next, p, () => r)).toBe(ms);
  });
  it("sleep rejects when aborted", async () => {
    const ac = new AbortController();
    const s = sleep(10_000, ac.signal);
    ac.abort(new Error("stop"));
    await expect(s).rejects.toThrow("stop");
  });
});

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["2s", 2000],
    ["10m", 600_000],
    ["24h", 86_400_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
    ["90", 90_000],
    ["", undefined],
    ["10x", undefined],
    ["m10", undefined],
  ])("%j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe("runLimited", () => {
  it("never runs more than the limit at once and keeps result order", async () => {
    let live = 0;
    let peak = 0;
    const out = await runLimited([30, 10, 20, 5, 15, 1], 2, async (ms, i) => {
      live++;
      peak = Math.max(peak, live);
      await new Promise((r) => setTimeout(r, ms));
      live--;
      return i;
    });
    expect(out).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
  });
});
