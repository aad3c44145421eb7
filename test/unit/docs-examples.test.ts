// The JSON examples in docs/ are real documents: each parses against the schema it illustrates.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pruneResultSchema } from "../../src/prune/report.js";
import { prepullReportSchema } from "../../src/pull/report.js";

function jsonBlocksAfter(file: string, heading: string): unknown[] {
  const text = readFileSync(file, "utf8");
  const from = text.indexOf(heading);
  if (from < 0) throw new Error(`${file} has no "${heading}"`);
  const section = text.slice(from, text.indexOf("\n## ", from + heading.length));
  return [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
}

describe("docs/prepull.md", () => {
  it("the --json report example is a valid report", () => {
    const blocks = jsonBlocksAfter("docs/prepull.md", "## The `--json` report");
    expect(blocks).toHaveLength(1);
    const r = prepullReportSchema.safeParse(blocks[0]);
    expect(r.success, r.success ? "" : r.error.message).toBe(true);
    // No key the schema does not know (zod would drop it silently).
    expect(r.success && r.data).toEqual(blocks[0]);
    // It shows the fields this version added.
    const images = r.success ? r.data.images : [];
    expect(images.some((i) => i.waitMs !== undefined && i.digest && i.bytes !== undefined)).toBe(true);
    expect(images.some((i) => i.warning)).toBe(true);
    expect(r.success && r.data.quota?.length).toBe(1);
  });
});

describe("docs/prune.md", () => {
  it("the --json example is a valid prune result, with the default thresholds' numbers", () => {
    const blocks = jsonBlocksAfter("docs/prune.md", "## `--dry-run` and `--json`");
    expect(blocks).toHaveLength(1);
    const r = pruneResultSchema.safeParse(blocks[0]);
    expect(r.success, r.success ? "" : r.error.message).toBe(true);
    expect(r.success && r.data).toEqual(blocks[0]);
    // A prune ran: before was due (at or above high 95%), after reached below low 85%.
    expect(r.success && r.data.before.usedPercent).toBeGreaterThanOrEqual(95);
    expect(r.success && r.data.after.usedPercent).toBeLessThan(85);
  });
});
