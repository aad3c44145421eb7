import { defineConfig } from "vitest/config";

// Unit tests: pure logic only (parsing, planning, classification). No daemon, no network.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
  },
});
