// Bundle the CLI and its runtime dependencies into one self-contained file that runs with plain
// `node`. Deterministic (no timestamps, no absolute paths), so CI can check that the committed
// dist/imagekeeper.mjs equals a fresh build, and the Nix package can install it as it is.
//
// Start-up is most of what a warm prepull costs (docs/performance.md), so the file is a small ESM
// loader with the program inside as a string, compiled through vm.Script with a V8 code cache
// kept per user ($IMAGEKEEPER_CACHE_DIR, else $XDG_CACHE_HOME/imagekeeper, else
// ~/.cache/imagekeeper). Without a writable cache dir it simply compiles every time.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

// zod's classic API re-exports every locale (z.locales.*): 250 KiB of a CLI that speaks English.
// The bundle gets English only (z.config(z.locales.en()) is what zod applies by default).
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(a.importer)
        ? { path: "zod-locales", namespace: "ik-stub" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "ik-stub" }, () => ({
      contents: 'export { default as en } from "zod/v4/locales/en.js";',
      resolveDir: process.cwd(),
    }));
  },
};

// pino's transports run in worker threads (thread-stream); imagekeeper writes its logs itself
// (src/log.ts) and never starts a transport. Stubbing them keeps worker_threads out of start-up,
// and pino's transport loader (./lib/transport: node:module, node:url, thread-stream) out of the
// bundle: node:module is not among the built-ins Node 20 supports in a startup snapshot.
const pinoWithoutTransports = {
  name: "pino-without-transports",
  setup(b) {
    b.onResolve({ filter: /^(thread-stream|worker_threads|\.\/transport|\.\/lib\/transport)$/ }, (a) =>
      /[\\/]pino[\\/]/.test(a.importer) ? { path: a.path, namespace: "ik-pino-stub" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "ik-pino-stub" }, (a) => ({
      contents:
        a.path === "worker_threads"
          ? "module.exports = { isMainThread: true };"
          : a.path === "thread-stream"
            ? 'module.exports = class ThreadStream { constructor() { throw new Error("pino transports are not bundled"); } };'
            : 'module.exports = function transport() { throw new Error("pino transports are not bundled"); };',
      loader: "js",
    }));
  },
};

const args = process.argv.slice(2);
const i = args.indexOf("--outfile");
const outfile = i >= 0 ? args[i + 1] : "dist/imagekeeper.mjs";
// --no-minify: for profiling (module boundaries stay visible as esbuild's "// src/…" comments).
const minify = !args.includes("--no-minify");
// --sizes: print the program's bytes by package (what the startup snapshot and the parse carry).
const sizes = args.includes("--sizes");

const result = await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  write: false,
  platform: "node",
  // CommonJS inside the loader: vm.Script runs a function, and esbuild turns each lazily imported
  // module into an init function, so only the command being run is evaluated.
  format: "cjs",
  target: "node20",
  minify,
  // The program runs inside vm.Script, which has no dynamic-import callback: every import() must
  // become a require() (esbuild keeps import() of Node built-ins otherwise).
  supported: { "dynamic-import": false },
  legalComments: "none",
  // ASCII (\u escapes for the few "…", "—" and box-drawing characters): one non-Latin-1 character
  // makes V8 hold the whole program as a two-byte string, twice the memory to parse and, in the
  // startup snapshot, twice the bytes to restore.
  charset: "ascii",
  plugins: [zodEnglishOnly, pinoWithoutTransports],
  metafile: sizes,
  logLevel: "warning",
});
const code = result.outputFiles[0].text;
if (sizes) {
  const by = new Map();
  for (const [file, { bytesInOutput }] of Object.entries(Object.values(result.metafile.outputs)[0].inputs)) {
    const parts = file.split("/");
    const key =
      parts[0] === "node_modules" ? parts.slice(0, parts[1].startsWith("@") ? 3 : 2) : parts.slice(0, 2);
    by.set(key.join("/"), (by.get(key.join("/")) ?? 0) + bytesInOutput);
  }
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1])) console.log(`${String(v).padStart(8)}  ${k}`);
}
const dynamicImport = /(?<![.\w$])import\((?!\))/.exec(code);
if (dynamicImport) {
  throw new Error(
    `the bundle still has a dynamic import() near: ${code.slice(dynamicImport.index, dynamicImport.index + 60)}`,
  );
}
const program = `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
const id = createHash("sha256").update(program).digest("hex").slice(0, 16);

// The shebang passes `--` before the script path: Node 20 takes `--env-file` anywhere in its argv
// as its own option unless a `--` ends its options (nodejs/node#54232), and imagekeeper's
// `--env-file` names an app .env that is data, never Node's. `env -S` splits "node --" (GNU
// coreutils >= 8.30, as on Debian and NixOS).
const loader = `#!/usr/bin/env -S node --
// imagekeeper: generated by scripts/build.mjs from src/. Do not edit.
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
const PROGRAM = ${JSON.stringify(program)};
const self = fileURLToPath(import.meta.url);
const env = process.env;
let dir;
try { dir = env.IMAGEKEEPER_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "imagekeeper"); } catch {}
const file = dir && join(dir, "code-${id}.v8");
let cachedData;
try { if (file) cachedData = readFileSync(file); } catch {}
const script = new vm.Script(PROGRAM, { filename: self, cachedData });
if (file && (!cachedData || script.cachedDataRejected)) {
  // Written at exit, so the functions this run compiled lazily are in the cache too.
  process.once("exit", () => {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const n of readdirSync(dir)) if (/^code-.*\\.v8$/.test(n)) unlinkSync(join(dir, n));
      const tmp = file + "." + process.pid;
      writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      renameSync(tmp, file);
    } catch {}
  });
}
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(self), module, self, join(self, ".."));
`;
mkdirSync(path.dirname(outfile), { recursive: true });
writeFileSync(outfile, loader, { mode: 0o755 });

// The man page and the shell completions, generated from the command definitions (src/help/), go
// beside the bundle: DIR/man/imagekeeper.1 and DIR/completions/{imagekeeper.bash,_imagekeeper,
// imagekeeper.fish}. Committed in dist/ like the bundle; CI checks they are fresh (scripts/test.sh).
const generator = await build({
  entryPoints: ["src/help/generate.ts"],
  bundle: true,
  write: false,
  platform: "node",
  format: "esm",
  target: "node20",
  plugins: [zodEnglishOnly, pinoWithoutTransports],
  // Some dependencies are CommonJS and call require(): give the ESM bundle one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: "warning",
});
const genDir = mkdtempSync(path.join(tmpdir(), "ikgen-"));
try {
  const genFile = path.join(genDir, "generate.mjs");
  writeFileSync(genFile, generator.outputFiles[0].text);
  const { generatedFiles } = await import(pathToFileURL(genFile).href);
  for (const [rel, text] of Object.entries(await generatedFiles())) {
    const file = path.join(path.dirname(outfile), rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text, { mode: 0o644 });
  }
} finally {
  rmSync(genDir, { recursive: true, force: true });
}
