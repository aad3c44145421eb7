// Recipe tag order and the nearest tags a bad pin's error lists (with the order's edges pinned:
// leading zeros, a number against text, the empty string, neighbours strictly below and above).
import { describe, expect, it } from "vitest";
import { compareVersions, editDistance, nearestTags, newestTag } from "../../src/recipe/tags.js";

const sign = (n: number) => Math.sign(n);

describe("compareVersions", () => {
  it.each<[string, string, -1 | 0 | 1]>([
    ["1.0.0+1.0.5-social-amd64", "2.0.0+1.0.5-social-amd64", -1],
    ["2.0.0+1.0.5-social-amd64", "2.0.1+1.0.6-social-amd64", -1],
    ["1.9.0", "1.10.0", -1],
    ["1.10.0", "1.9.0", 1],
    ["1.0.0+1.0.5", "1.0.0+1.0.10", -1],
    ["1.0.0", "1.0.0", 0],
    ["1.0.0", "1.0.0+1.2", -1],
    ["1.0.01", "1.0.1", 0],
    ["1.0.0-rc1", "1.0.0-rc2", -1],
    ["99999999999999999999998", "99999999999999999999999", -1],
    ["a", "b", -1],
    ["1.0.0", "1.0.a", -1],
    // A number against text compares by code point (digits sort before letters), not by length.
    ["1.10", "1.x", -1],
    ["10.0.0", "v1.0.0", -1],
    // Every leading zero goes, and only leading ones: 001 is 1, 100 stays 100.
    ["1.001", "1.2", -1],
    ["1.100", "1.99", 1],
    ["1.0100", "1.99", 1],
    // The empty string sorts first.
    ["", "1.0.0", -1],
    ["", "", 0],
  ])("%s vs %s", (a, b, want) => {
    expect(sign(compareVersions(a, b))).toBe(want);
    expect(sign(compareVersions(b, a))).toBe(-want || 0);
  });
});

describe("editDistance", () => {
  it.each<[string, string, number]>([
    ["", "", 0],
    ["abc", "", 3],
    ["", "abc", 3],
    ["1.0.5", "1.0.5", 0],
    ["1.0.5", "1.0.6", 1],
    ["1.0.5", "1.0.15", 1],
    ["1.0.15", "1.0.5", 1],
    ["kitten", "sitting", 3],
    ["1.0.0+1.0.5", "1.0.0+1.0.5-social", 7],
  ])("%s → %s is %d", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe("nearestTags", () => {
  const TAGS = [
    "2.0.1+1.0.6-social-amd64",
    "1.0.0+1.0.5-social-amd64",
    "2.0.0+1.0.5-social-amd64",
    "0.9.0+0.9.9-social-amd64",
    "3.0.0+2.0.0-social-amd64",
    "3.1.0+2.0.1-social-amd64",
  ];
  it.each<[string, string, number, string[]]>([
    [
      "a typo in the upstream part: the closest spellings and its neighbours, in version order",
      "1.0.0+1.0.7-social-amd64",
      3,
      // distances 1, 2, then 3 (a tie, broken by version order); its neighbours are among them
      ["1.0.0+1.0.5-social-amd64", "2.0.0+1.0.5-social-amd64", "2.0.1+1.0.6-social-amd64"],
    ],
    [
      "newer than every tag (not fetched yet): the newest is listed beside the closest spelling",
      "4.0.0+2.1.0-social-amd64",
      1,
      ["3.0.0+2.0.0-social-amd64", "3.1.0+2.0.1-social-amd64"],
    ],
    [
      "older than every tag: the oldest is listed",
      "0.1.0+0.1.0-social-amd64",
      0,
      ["0.9.0+0.9.9-social-amd64"],
    ],
    [
      "between two releases: both neighbours",
      "2.5.0+1.5.0-social-amd64",
      0,
      ["2.0.1+1.0.6-social-amd64", "3.0.0+2.0.0-social-amd64"],
    ],
  ])("%s", (_n, version, closest, want) => {
    expect(nearestTags(version, TAGS, closest)).toStrictEqual(want);
  });

  it("a version equal in order to a tag (a leading zero): its neighbours are the tags strictly below and above", () => {
    const tags = ["1.0.0", "1.0.1", "1.0.2"];
    expect(nearestTags("1.0.01", tags, 0)).toStrictEqual(["1.0.0", "1.0.2"]);
  });

  it("with no spellings asked for, the neighbours alone", () => {
    expect(nearestTags("1.5.0", ["1.0.0", "2.0.0", "3.0.0"], 0)).toStrictEqual(["1.0.0", "2.0.0"]);
    expect(nearestTags("0.1.0", ["1.0.0", "2.0.0"], 0)).toStrictEqual(["1.0.0"]);
    expect(nearestTags("9.0.0", ["1.0.0", "2.0.0"], 0)).toStrictEqual(["2.0.0"]);
  });

  it("caps the list at the closest few plus two neighbours", () => {
    const many = Array.from({ length: 40 }, (_, i) => `1.${i}.0`);
    expect(nearestTags("1.20.5", many).length).toBeLessThanOrEqual(5);
    expect(nearestTags("1.20.5", many)).toContain("1.20.0");
    expect(nearestTags("1.20.5", many)).toContain("1.21.0");
  });

  it("no tags, no suggestions; duplicates once", () => {
    expect(nearestTags("1.0.0", [])).toStrictEqual([]);
    expect(nearestTags("1.0.0", ["1.0.1", "1.0.1"])).toStrictEqual(["1.0.1"]);
  });

  it("the newest tag is by version order, not by name", () => {
    expect(newestTag(["1.9.0", "1.10.0", "1.2.0"])).toBe("1.10.0");
    expect(newestTag([])).toBeUndefined();
  });

  it("newestTag: only tags that start with a version number are releases (abra skips the rest)", () => {
    expect(newestTag(["1.0.0+1.25.3", "broken", "2.0.0+1.27.1", "test-x"])).toBe("2.0.0+1.27.1");
    expect(newestTag(["v1.2", "v1.10", "latest"])).toBe("v1.10");
    expect(newestTag(["broken", "main-old", "vnext"])).toBeUndefined();
  });
});
