import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseSize, sizeBytes, sizeText } from "../../src/util/size.js";

describe("parseSize", () => {
  it.each([
    ["123", 123],
    ["0", 0],
    ["1B", 1],
    ["1K", 1024],
    ["1KiB", 1024],
    ["1kB", 1000],
    ["1KB", 1000],
    ["2M", 2 * 1048576],
    ["2MiB", 2 * 1048576],
    ["2MB", 2_000_000],
    ["10GiB", 10 * 1073741824],
    ["10gib", 10 * 1073741824],
    ["10G", 10 * 1073741824],
    ["40GB", 40_000_000_000],
    ["1TiB", 1099511627776],
    ["1TB", 1e12],
    ["1.5GiB", 1610612736],
    ["0.5K", 512],
    ["1.0001B", 1],
    [" 10 GiB ", 10 * 1073741824],
    ["", undefined],
    ["GiB", undefined],
    ["10 XB", undefined],
    ["-1GiB", undefined],
    ["10GiBs", undefined],
    ["1e9", undefined],
    ["10GiB 5MiB", undefined],
  ])("%j", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });
});

describe("sizeText: the largest binary unit that divides it", () => {
  it.each([
    [0, "0"],
    [1, "1"],
    [1023, "1023"],
    [1024, "1KiB"],
    [1536, "1536"],
    [3072, "3KiB"],
    [1048576, "1MiB"],
    [1048576 + 1024, "1025KiB"],
    [5 * 1073741824, "5GiB"],
    [1073741824 + 1, "1073741825"],
    [1099511627776, "1TiB"],
    [2 * 1099511627776 + 1073741824, "2049GiB"],
    // An SI size (1 GB) is printed in bytes: no binary unit divides it.
    [1_000_000_000, "1000000000"],
  ])("%d → %s", (bytes, text) => {
    expect(sizeText(bytes)).toBe(text);
    expect(parseSize(text)).toBe(bytes);
  });
});

describe("sizeBytes (config field)", () => {
  it("encodes back to text (what config check prints)", () => {
    expect(z.encode(z.object({ v: sizeBytes }), { v: 10 * 1073741824 })).toEqual({ v: "10GiB" });
  });
  const s = z.object({ v: sizeBytes });
  it("accepts text and whole numbers of bytes", () => {
    expect(s.parse({ v: "1MiB" }).v).toBe(1048576);
    expect(s.parse({ v: 4096 }).v).toBe(4096);
  });
  it("rejects bad sizes with the fix in the message", () => {
    const r = s.safeParse({ v: "ten gigs" });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/"ten gigs" is not a size; write e.g. "10GiB"/);
    expect(s.safeParse({ v: -5 }).success).toBe(false);
    expect(s.safeParse({ v: 1.5 }).success).toBe(false);
  });
});
