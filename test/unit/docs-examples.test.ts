// The JSON examples in docs/ are real documents: each parses against the schema it illustrates.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
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
