// Run a TypeScript script (a benchmark, the demo) that reuses the test testbed: bundle it with
// esbuild into a temp file and run it with plain node.  node scripts/run-ts.mjs FILE.ts [args…]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const [file, ...rest] = process.argv.slice(2);
// Inside node_modules/.cache, so the bundle's external packages resolve from this project.
mkdirSync("node_modules/.cache", { recursive: true });
const out = path.join(
  mkdtempSync(path.resolve("node_modules/.cache/ikts-")),
  `${path.basename(file, ".ts")}.mjs`,
);
await build({
  entryPoints: [file],
  outfile: out,
  bundle: true,
  platform: "node",
  format: "esm",
  packages: "external",
  logLevel: "warning",
});
try {
  execFileSync(process.execPath, [out, ...rest], { stdio: "inherit" });
} catch (e) {
  process.exitCode = typeof e.status === "number" ? e.status : 1;
}
