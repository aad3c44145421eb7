import { defineConfig } from "vitest/config";

// Nix tests: the module evaluated with nixpkgs' lib and inside a whole NixOS system, the package's
// install phases, the docs' examples. nixpkgs comes from ../shared/nix (test/nix/support.ts).
// Each NixOS evaluation takes 2–10 s on a loaded machine: hooks get the tests' budget.
export default defineConfig({
  test: {
    include: ["test/nix/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
