import { describe, expect, it } from "vitest";
import { z } from "zod";
import { durationMs, durationText, parseDuration, parseSince } from "../../src/util/duration.js";

describe("durationText: the exact text form", () => {
  it.each([
    [0, "0s"],
    [1, "1ms"],
    [999, "999ms"],
    [1000, "1s"],
    [1500, "1s500ms"],
    [59_000, "59s"],
    [60_000, "1m"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [86_400_000, "24h"],
    [129_600_000, "36h"],
    [172_799_999, "47h59m59s999ms"],
    [172_800_000, "2d"],
    [604_800_000, "7d"],
    [612_000_000, "7d2h"],
  ])("%i ms is %s", (ms, text) => {
    expect(durationText(ms)).toBe(text);
  });

  it("reads back to the same number of milliseconds, for any whole number", () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor(rand() ** 3 * 40 * 86_400_000);
      expect(parseDuration(durationText(ms))).toBe(ms);
    }
  });
});

describe("durationMs (config and flag durations)", () => {
  const schema = z.object({ d: durationMs });
  it.each([
    ["90s", 90_000],
    ["24h", 86_400_000],
    ["1h30m", 5_400_000],
    ["90", 90_000],
    [90, 90_000],
    [0.5, 500],
    [0, 0],
  ] as const)("%j is %i ms", (input, ms) => {
    expect(schema.parse({ d: input }).d).toBe(ms);
  });

  it.each([["10x"], [""], [-1], [Number.NaN], [Number.POSITIVE_INFINITY], [true]])("refuses %j", (input) => {
    const r = schema.safeParse({ d: input });
    expect(r.success).toBe(false);
  });

  it("says what a duration looks like when it refuses one", () => {
    const r = schema.safeParse({ d: "10x" });
    expect(r.error?.issues[0]?.message).toMatch(/"10x" is not a duration; write e\.g\. "90s"/);
    expect(r.error?.issues[0]?.path).toEqual(["d"]);
  });

  it("encodes back to text", () => {
    expect(z.encode(schema, { d: 86_400_000 })).toEqual({ d: "24h" });
  });
});

describe("parseSince", () => {
  const now = new Date("2025-03-10T12:00:00Z");
  it.each([
    ["24h", "2025-03-09T12:00:00.000Z"],
    ["7d", "2025-03-03T12:00:00.000Z"],
    ["90", "2025-03-10T11:58:30.000Z"],
    ["2025-03-01T02:00:00Z", "2025-03-01T02:00:00.000Z"],
    ["2025-03-01T02:00+01:00", "2025-03-01T01:00:00.000Z"],
  ])("%s", (text, iso) => {
    expect(parseSince(text, now)?.toISOString()).toBe(iso);
  });

  it("reads a bare date and a date-time without zone as local time", () => {
    expect(parseSince("2025-03-01", now)?.getTime()).toBe(new Date(2025, 2, 1, 0, 0, 0).getTime());
    expect(parseSince("2025-03-01 02:30", now)?.getTime()).toBe(new Date(2025, 2, 1, 2, 30, 0).getTime());
  });

  it.each([["yesterday"], ["2025-13-01"], ["2025-3-1"], [""], ["10x"]])("refuses %j", (text) => {
    expect(parseSince(text, now)).toBeUndefined();
  });
});
