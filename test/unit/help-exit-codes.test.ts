// Every exit code a command can return is listed in its --help. What a command can return is read
// from its code, not from a list kept beside it: each command's module graph is bundled (esbuild,
// nothing run) and searched for the errors src/cli.ts maps to codes (EXIT) and for the `failed`
// outcome. Every command can also end in an internal error (70), bad input (2: usage and config are
// checked for all) and an interruption (130/143).
import path from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli.js";
import { COMMANDS } from "../../src/commands/index.js";

/** The module and export a command is loaded from, read off its index entry's loader. */
function sourceOf(load: () => unknown): { file: string; name: string } {
  // `import("./env.js")` in source, `import("/src/commands/env.ts")` once vitest has transformed it.
  const m = /([\w-]+)\.[jt]s["']\)\)\.(\w+)/.exec(String(load));
  if (!m) throw new Error(`cannot read the module of ${String(load)}`);
  return { file: `${m[1]}.ts`, name: m[2]! };
}

/** The codes listed in a help's "Exit status:" section (`128+n` and CMD's status as words). */
function listedCodes(help: string): Set<string> {
  const start = help.indexOf("Exit status:");
  if (start < 0) return new Set();
  const out = new Set<string>();
  for (const line of help.slice(start).split("\n").slice(1)) {
    if (line.trim() === "") break;
    const m = /^ {2}(\S+(?: status)?)\s{2,}/.exec(line);
    if (!m) continue; // a continuation line
    for (const code of m[1]!.split("/")) out.add(code);
  }
  return out;
}

const bundles = new Map<string, Promise<string>>();
/** The command's spec bundled alone: only what it can reach (tree-shaken), nothing run. */
function bundleOf(load: () => unknown): Promise<string> {
  const { file, name } = sourceOf(load);
  const key = `${file}#${name}`;
  let b = bundles.get(key);
  if (!b) {
    b = build({
      stdin: {
        contents: `export { ${name} } from "./${file}";`,
        resolveDir: path.join(import.meta.dirname, "../../src/commands"),
        loader: "ts",
      },
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      packages: "external",
      logLevel: "silent",
      // Other commands' modules, loaded lazily through the registry (completion and help read
      // their specs, never run them), are not this command's code.
      plugins: [
        {
          name: "lazy-commands-external",
          setup(b) {
            b.onResolve({ filter: /.*/ }, (a) =>
              a.kind === "dynamic-import" && /commands[\\/]index\.ts$/.test(a.importer)
                ? { path: a.path, external: true }
                : undefined,
            );
            // The gap prune before a run (src/prune/gap-prune.ts) never throws: whatever fails is
            // logged and the run goes on (test/unit/gap-prune.test.ts), so the daemon errors in
            // its graph are not the command's exit codes.
            b.onResolve({ filter: /prune[\\/]gap-prune\.js$/ }, (a) =>
              a.kind === "dynamic-import" ? { path: a.path, external: true } : undefined,
            );
          },
        },
      ],
    }).then((r) => r.outputFiles[0]!.text);
    bundles.set(key, b);
  }
  return b;
}

/** The codes a command's code can produce, by what its bundle constructs or returns. */
async function reachableCodes(name: string): Promise<Set<string>> {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no command ${name}`);
  const code = await bundleOf(entry.load);
  const codes = new Set([EXIT.input, EXIT.internal, 130, 143].map(String));
  const thrown = (cls: string) => new RegExp(`new ${cls}\\d*\\(`).test(code);
  if (name === "run") {
    // run ends with its command's status; a signal while waiting is 128+n (its own handling).
    codes.add("CMD's status");
    codes.add("128+n");
    codes.delete("130");
    codes.delete("143");
  } else {
    codes.add(String(EXIT.ok));
  }
  if (thrown("DaemonUnavailableError")) codes.add(String(EXIT.daemon));
  if (thrown("LeaseTimeoutError")) codes.add(String(EXIT.leaseTimeout));
  // A command's own failure outcome (not the type's declaration).
  if (/kind:\s*"failed"\s*}/.test(code.replace(/\|\s*{\s*kind:\s*"failed"\s*}/g, "")))
    codes.add(String(EXIT.failed));
  return codes;
}

describe("listedCodes", () => {
  it("reads codes, slashes, words and stops at the section's end", () => {
    const help = `Usage: x

Exit status:
  0        ok
  2        bad input, which
           continues here: 3 is not a code
  130/143  interrupted
  CMD's status   what CMD returned
  128+n    a signal

  7        after the section`;
    expect([...listedCodes(help)].sort()).toEqual(["0", "128+n", "130", "143", "2", "CMD's status"]);
    expect(listedCodes("Exit 0, 2 bad config")).toEqual(new Set());
  });
});

describe("every exit code a command can return is in its help", () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    "%s",
    async (name, entry) => {
      const spec = await entry.load();
      const listed = listedCodes(spec.help);
      const reachable = await reachableCodes(name);
      expect(
        [...reachable].filter((c) => !listed.has(c)),
        `missing from the help of ${name}`,
      ).toEqual([]);
      // And nothing listed that the command cannot return (a stale help is wrong too).
      expect(
        [...listed].filter((c) => !reachable.has(c)),
        `listed but unreachable in ${name}`,
      ).toEqual([]);
      // Walking a command's import graph with esbuild takes a few seconds on a loaded machine.
    },
    60_000,
  );

  it("finds the codes the command's code implies", async () => {
    // The derivation itself, on commands whose codes are known: a daemon command and a lease one.
    expect(await reachableCodes("status")).toContain("3");
    expect(await reachableCodes("env")).not.toContain("3");
    expect(await reachableCodes("lease acquire")).toContain("4");
    expect(await reachableCodes("prune")).not.toContain("4");
    expect(await reachableCodes("prepull")).toContain("1");
    expect(await reachableCodes("status")).not.toContain("1");
  }, 60_000);
});
