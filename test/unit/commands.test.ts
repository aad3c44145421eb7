import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/commands/index.js";

describe("command index", () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    "%s: the index matches the spec it loads",
    async (_n, entry) => {
      const spec = await entry.load();
      expect(spec.name).toBe(entry.name);
      expect(spec.summary).toBe(entry.summary);
      expect(spec.help.length).toBeGreaterThan(40);
    },
  );
});
