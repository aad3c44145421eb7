// The prepull report's schema (src/pull/report.ts), the --json contract: every count and duration
// is a whole number from 0 up (1 and a large value accepted, -1 and a fraction refused, at the
// path of the field), for an image, a quota entry and the report itself.
import { describe, expect, it } from "vitest";
import { imageResultSchema, prepullReportSchema, quotaReportSchema } from "../../src/pull/report.js";

const image = {
  ref: "nginx:1.27",
  service: "web",
  file: "compose.yml",
  action: "pulled",
  attempts: 1,
  durationMs: 1,
};
const quota = { registry: "r.example", endpoint: "r.example", limit: 1, remaining: 1, needed: 1 };

const IMAGE_COUNTS = ["attempts", "durationMs", "waitMs", "pullMs", "bytes"] as const;
const QUOTA_COUNTS = ["limit", "remaining", "windowSeconds", "needed"] as const;

describe("image result: counts are whole numbers >= 0", () => {
  it.each(IMAGE_COUNTS.flatMap((k) => [0, 1, 7, 123_456_789].map((v) => [k, v] as const)))(
    "%s = %d accepted",
    (key, v) => {
      const r = imageResultSchema.safeParse({ ...image, [key]: v });
      expect(r.success).toBe(true);
      expect(r.data?.[key]).toBe(v);
    },
  );
  it.each(IMAGE_COUNTS.flatMap((k) => [-1, 1.5].map((v) => [k, v] as const)))("%s = %d refused", (key, v) => {
    const r = imageResultSchema.safeParse({ ...image, [key]: v });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path)).toEqual([[key]]);
  });
});

describe("quota entry: counts are whole numbers >= 0", () => {
  it.each(QUOTA_COUNTS.flatMap((k) => [0, 1, 100, 5000].map((v) => [k, v] as const)))(
    "%s = %d accepted",
    (key, v) => {
      const r = quotaReportSchema.safeParse({ ...quota, [key]: v });
      expect(r.success).toBe(true);
      expect(r.data?.[key]).toBe(v);
    },
  );
  it.each(QUOTA_COUNTS.flatMap((k) => [-1, 0.5].map((v) => [k, v] as const)))("%s = %d refused", (key, v) => {
    const r = quotaReportSchema.safeParse({ ...quota, [key]: v });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path)).toEqual([[key]]);
  });
});

describe("report: durationMs, and the nested image and quota counts", () => {
  it.each([0, 1, 65_000])("durationMs = %d accepted", (v) => {
    const r = prepullReportSchema.safeParse({ ok: true, durationMs: v, images: [image], quota: [quota] });
    expect(r.success).toBe(true);
    expect(r.data?.durationMs).toBe(v);
  });
  it.each([
    ["durationMs -1", { durationMs: -1 }, ["durationMs"]],
    ["an image's attempts -1", { images: [{ ...image, attempts: -1 }] }, ["images", 0, "attempts"]],
    ["a quota's needed -1", { quota: [{ ...quota, needed: -1 }] }, ["quota", 0, "needed"]],
  ])("%s refused", (_name, over, path) => {
    const r = prepullReportSchema.safeParse({ ok: false, images: [image], ...over });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path)).toEqual([path]);
  });
});
