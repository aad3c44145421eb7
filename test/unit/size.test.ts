import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseSize, sizeBytes } from "../../src/util/size.js";

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

describe("sizeBytes (config field)", () => {
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
