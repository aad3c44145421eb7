// Bundle the CLI and its runtime dependencies into one self-contained ESM file that runs with
// plain `node`. Deterministic (no timestamps, no absolute paths), so CI can check that the committed
// dist/imagekeeper.mjs equals a fresh build, and the Nix package can install it as it is.
import { build } from "esbuild";

const args = process.argv.slice(2);
const i = args.indexOf("--outfile");
const outfile = i >= 0 ? args[i + 1] : "dist/imagekeeper.mjs";

await build({
  entryPoints: ["src/main.ts"],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  legalComments: "none",
  charset: "utf8",
  // Some dependencies are CommonJS and call require(): give the ESM bundle one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __ikCreateRequire } from 'node:module'; const require = __ikCreateRequire(import.meta.url);",
  },
  logLevel: "warning",
});
