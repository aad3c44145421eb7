// Bundle a TypeScript helper (test/support/*.ts) into one plain-node ESM file in a temp dir, so a
// test can run library code in separate processes (concurrent writers, lease actors).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";

export async function bundleScript(entry: string): Promise<string> {
  const out = path.join(mkdtempSync(path.join(tmpdir(), "ikscript-")), `${path.basename(entry, ".ts")}.mjs`);
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    // Some dependencies are CommonJS and call require(): give the ESM bundle one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return out;
}
