import { defineConfig } from "vitest/config";

// Unit tests: pure logic only (parsing, planning, classification). No daemon, no network.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    // Worker threads (Stryker's pool) cannot set the umask: see the file.
    setupFiles: ["test/support/worker-umask.ts"],
    environment: "node",
  },
});
