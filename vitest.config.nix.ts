import { defineConfig } from "vitest/config";

// Module evaluation tests: need nix-instantiate and nixpkgs' lib (IMAGEKEEPER_NIXPKGS_LIB).
export default defineConfig({
  test: {
    include: ["test/nix/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
  },
});
