// nix/package.nix evaluated with nixpkgs' lib and stand-ins for its inputs (test/nix/package.nix),
// then its install and install-check phases run here in bash, against a fresh bundle, with a
// minimal makeWrapper: the wrapper starts the bundle with node and puts the tools on PATH; the man
// page, the completions and the docs land where man, the shells and `--help` look; the install
// check (--version, the installed files, the images of the fixture recipe) passes. The man page and
// completions are generated into dist/ from the command definitions and committed; the test takes
// them from there. Where nixpkgs comes from: test/nix/support.ts.
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIX_MISSING, REPO, SKIP_NIX, buildBundle, nixData, nixInstantiate } from "./support.js";

interface Evaluated {
  pname: string;
  version: string;
  buildPhase: string;
  installPhase: string;
  installCheckPhase: string;
  doInstallCheck: boolean;
  dontBuild: boolean;
  mainProgram: string;
  inputs: string[];
}

// The directory above bin/ of a tool on this machine: what its store path would be.
const prefixOf = (tool: string) =>
  path.dirname(path.dirname(execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim()));

// makeWrapper as the phases use it (--add-flags, --set-default, --prefix VAR SEP VALUE, --run CMD),
// nothing more: anything else fails, so a phase that starts relying on more shows up here.
const MAKE_WRAPPER = String.raw`
runHook() { :; }
makeWrapper() {
  local exe=$1 out=$2 flags="" env=""; shift 2
  while [ $# -gt 0 ]; do
    case $1 in
      --add-flags) flags="$flags $2"; shift 2 ;;
      --set-default) env="$env export $2=\"\${$2-$3}\";"; shift 3 ;;
      --prefix) env="$env export $2=$4\${$2:+$3\$$2};"; shift 4 ;;
      --run) env="$env
$2
"; shift 2 ;;
      *) echo "makeWrapper stand-in: unsupported $1" >&2; return 1 ;;
    esac
  done
  mkdir -p "$(dirname "$out")"
  printf '#!/usr/bin/env bash\n%s\nexec %s%s "$@"\n' "$env" "$exe" "$flags" > "$out"
  chmod +x "$out"
}
`;

// What the CLI-output work generates into dist/ (committed); the package installs each.
const GENERATED = [
  "dist/man/imagekeeper.1",
  "dist/completions/imagekeeper.bash",
  "dist/completions/_imagekeeper",
  "dist/completions/imagekeeper.fish",
];

const evaluate = (): Evaluated => {
  const prefixes = {
    nodejs: path.dirname(path.dirname(process.execPath)),
    docker: prefixOf("docker"),
    git: prefixOf("git"),
    utilLinux: prefixOf("flock"),
    coreutils: prefixOf("install"),
  };
  const r = nixInstantiate([
    "--eval",
    "--strict",
    "--json",
    path.join(REPO, "test/nix/package.nix"),
    "--argstr",
    "nixpkgsLib",
    nixData().lib,
    "--argstr",
    "prefixes",
    JSON.stringify(prefixes),
  ]);
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Evaluated;
};

describe.skipIf(SKIP_NIX)("nix/package.nix", () => {
  let d: Evaluated;
  let out: string;
  let install: ReturnType<typeof spawnSync>;
  const scratch: string[] = [];
  afterAll(() => {
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
  });

  beforeAll(() => {
    d = evaluate();
    const missing = GENERATED.filter((f) => !existsSync(path.join(REPO, f)));
    if (missing.length > 0)
      throw new Error(
        `${missing.join(", ")} missing: generated from the command definitions and committed (the package installs them)`,
      );
    // The source as the package's filter keeps it, with the bundle built fresh from src/.
    const src = mkdtempSync(path.join(tmpdir(), "ikpkg-"));
    scratch.push(src);
    cpSync(path.join(REPO, "package.json"), path.join(src, "package.json"));
    mkdirSync(path.join(src, "scripts"));
    cpSync(path.join(REPO, "scripts/snapshot-entry.cjs"), path.join(src, "scripts/snapshot-entry.cjs"));
    cpSync(path.join(REPO, "test/fixtures/recipes/simple"), path.join(src, "test/fixtures/recipes/simple"), {
      recursive: true,
    });
    for (const f of GENERATED) cpSync(path.join(REPO, f), path.join(src, f), { recursive: true });
    mkdirSync(path.join(src, "docs"));
    for (const f of readdirSync(path.join(REPO, "docs")).filter((n) => n.endsWith(".md")))
      cpSync(path.join(REPO, "docs", f), path.join(src, "docs", f));
    buildBundle(path.join(src, "dist/imagekeeper.mjs"));
    out = path.join(src, "out");
    mkdirSync(path.join(src, "tmp"));
    const script = `set -euo pipefail\n${MAKE_WRAPPER}\n${d.buildPhase}\n${d.installPhase}\n${d.installCheckPhase}`;
    install = spawnSync("bash", ["-c", script], {
      cwd: src,
      encoding: "utf8",
      // Like the build sandbox: a bare PATH (the wrapper must bring its tools), no home, no stdin
      // (bash would take a socket on stdin for sshd and read ~/.bashrc).
      env: {
        PATH: "/usr/bin:/bin",
        out,
        TMPDIR: path.join(src, "tmp"),
        HOME: "/homeless-shelter",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
  });

  it("installs the committed bundle, named and versioned as package.json says, without npm", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as {
      name: string;
      version: string;
    };
    expect(d).toMatchObject({ pname: pkg.name, version: pkg.version, mainProgram: "imagekeeper" });
    // The build phase builds the startup snapshot from the bundle (and nothing else).
    expect(d.dontBuild).toBe(false);
    expect(d.buildPhase).toContain("--build-snapshot scripts/snapshot-entry.cjs");
    expect(d.doInstallCheck).toBe(true);
    expect(d.inputs).toEqual(["make-wrapper"]);
    expect(d.installPhase).toContain("dist/imagekeeper.mjs");
    expect(`${d.installPhase}${d.installCheckPhase}`).not.toMatch(/\bnpm\b/);
  });

  it("its install phase builds a working wrapper and its install check passes", () => {
    expect(install.stderr).toBe("");
    expect(install.status).toBe(0);
    expect(String(install.stdout).trim().split("\n")).toEqual(["nginx:1.27.1", "postgres:16.4"]);
  });

  it("installs the man page, the completions and the docs where man, the shells and --help look", () => {
    expect(install.status).toBe(0);
    for (const [installed, from] of [
      ["share/man/man1/imagekeeper.1", "dist/man/imagekeeper.1"],
      ["share/bash-completion/completions/imagekeeper", "dist/completions/imagekeeper.bash"],
      ["share/zsh/site-functions/_imagekeeper", "dist/completions/_imagekeeper"],
      ["share/fish/vendor_completions.d/imagekeeper.fish", "dist/completions/imagekeeper.fish"],
      ["share/doc/imagekeeper/nixos.md", "docs/nixos.md"],
    ] as const)
      expect(readFileSync(path.join(out, installed), "utf8")).toBe(
        readFileSync(path.join(REPO, from), "utf8"),
      );
    const docs = readdirSync(path.join(REPO, "docs")).filter((n) => n.endsWith(".md"));
    expect(readdirSync(path.join(out, "share/doc/imagekeeper")).sort()).toEqual(docs.sort());
  });

  it("the wrapper passes every argument to the script and sets IMAGEKEEPER_DOC_DIR unless the caller did", () => {
    expect(install.status).toBe(0);
    // A stand-in for the bundle that reports what it was given.
    writeFileSync(
      path.join(out, "libexec/imagekeeper/probe.mjs"),
      "console.log(JSON.stringify({ doc: process.env.IMAGEKEEPER_DOC_DIR ?? null, argv: process.argv.slice(2) }));\n",
    );
    const wrapper = path.join(out, "bin/imagekeeper");
    const probe = wrapper + "-probe";
    writeFileSync(probe, readFileSync(wrapper, "utf8").replaceAll("imagekeeper.mjs", "probe.mjs"), {
      mode: 0o755,
    });
    const run = (env: Record<string, string>) =>
      JSON.parse(
        execFileSync(probe, ["--inspect", "--", "prune", "--dry-run"], {
          // NODE_OPTIONS set: the wrapper starts the script, not the snapshot (which is imagekeeper's).
          env: { PATH: "/usr/bin:/bin", NODE_OPTIONS: "--no-warnings", ...env },
          encoding: "utf8",
        }),
      ) as { doc: string | null; argv: string[] };
    // node stops taking options at `--`, whatever the script's path looks like.
    expect(readFileSync(wrapper, "utf8")).toContain(
      ` -- ${path.join(out, "libexec/imagekeeper/imagekeeper.mjs")} "$@"`,
    );
    // Node-looking arguments reach the script, not node.
    expect(run({})).toEqual({
      doc: path.join(out, "share/doc/imagekeeper"),
      argv: ["--inspect", "--", "prune", "--dry-run"],
    });
    expect(run({ IMAGEKEEPER_DOC_DIR: "/srv/docs" }).doc).toBe("/srv/docs");
  });

  describe("the wrapper starts from the startup snapshot when it fits, else from the bundle", () => {
    const FIX = path.join(REPO, "test/fixtures/recipes/simple");
    const commands = [
      ["--version"],
      ["--help"],
      ["prepull", "--help"],
      ["images", "--recipe", FIX, "--env-file", path.join(FIX, "app.env"), "--json"],
    ];
    /** A copy of the installed package whose wrapper logs each node start, with `blob` as its blob. */
    const copy = (name: string, blob: (file: string) => void) => {
      const dir = mkdtempSync(path.join(tmpdir(), `ikpkg-${name}-`));
      scratch.push(dir);
      cpSync(out, dir, { recursive: true });
      const log = path.join(dir, "node.log");
      const shim = path.join(dir, "node");
      writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${log}\nexec ${process.execPath} "$@"\n`, {
        mode: 0o755,
      });
      const wrapper = path.join(dir, "bin/imagekeeper");
      const text = readFileSync(wrapper, "utf8")
        .replaceAll(out, dir)
        .replaceAll(`${prefixOf("node")}/bin/node`, shim);
      writeFileSync(wrapper, text, { mode: 0o755 });
      blob(path.join(dir, "libexec/imagekeeper/imagekeeper.blob"));
      const run = (args: string[], env: Record<string, string> = {}) => {
        const r = spawnSync(wrapper, args, {
          env: { PATH: "/usr/bin:/bin", HOME: dir, IMAGEKEEPER_STATE_DIR: path.join(dir, "state"), ...env },
          encoding: "utf8",
        });
        return { code: r.status, stdout: r.stdout.replaceAll(dir, out), stderr: r.stderr };
      };
      const starts = () => readFileSync(log, "utf8").trim().split("\n");
      return { run, starts, blob: path.join(dir, "libexec/imagekeeper/imagekeeper.blob") };
    };
    // What the bundle itself prints (NODE_OPTIONS set: the wrapper takes the bundle).
    let plain: { code: number | null; stdout: string; stderr: string }[];
    beforeAll(() => {
      const p = copy("plain", () => {});
      plain = commands.map((c) => p.run(c, { NODE_OPTIONS: "--no-warnings" }));
      expect(p.starts().every((l) => !l.includes("--snapshot-blob"))).toBe(true);
      expect(plain.map((r) => r.code)).toEqual(commands.map(() => 0));
    });

    it("the snapshot it built: every start is from it, with the bundle's output", () => {
      const p = copy("fits", () => {});
      expect(commands.map((c) => p.run(c))).toEqual(plain);
      expect(p.starts()).toHaveLength(commands.length);
      for (const l of p.starts())
        expect(l).toMatch(/^--snapshot-blob \S+\/imagekeeper\.blob -- \S+\/imagekeeper\.mjs /);
    });

    it.each([
      ["missing", (f: string) => rmSync(f), undefined],
      ["empty", (f: string) => writeFileSync(f, ""), "SIGABRT"],
      ["junk", (f: string) => writeFileSync(f, Buffer.alloc(4096, 0x5a)), "SIGABRT"],
      [
        "built by another Node version",
        (f: string) => {
          // The same blob with the Node version in its head changed: what another Node writes.
          const b = readFileSync(f);
          const v = Buffer.from(process.versions.node);
          const at = b.subarray(0, 64).indexOf(v);
          expect(at).toBeGreaterThan(0);
          b[at + v.length - 1] = b[at + v.length - 1] === 0x30 ? 0x31 : 0x30;
          writeFileSync(f, b);
        },
        14,
      ],
    ] as const)("a blob that is %s: the bundle starts, with the same output", (name, spoil, nodeExit) => {
      const p = copy(name.replaceAll(" ", "-"), spoil);
      // The control: node refuses (exit 14) or aborts (SIGABRT) on that blob itself.
      if (nodeExit !== undefined) {
        const direct = spawnSync(process.execPath, ["--snapshot-blob", p.blob, "--", "x", "--version"]);
        expect(direct.status ?? direct.signal).toBe(nodeExit);
      }
      expect(commands.map((c) => p.run(c))).toEqual(plain);
      expect(p.starts().filter((l) => l.includes("--snapshot-blob"))).toEqual([]);
    });

    it("NODE_OPTIONS with a V8 flag: the bundle starts (node would refuse the snapshot)", () => {
      const p = copy("node-options", () => {});
      const env = { NODE_OPTIONS: "--max-old-space-size=256" };
      const direct = spawnSync(process.execPath, ["--snapshot-blob", p.blob, "--", "x", "--version"], {
        env: { ...env, PATH: "/usr/bin:/bin" },
        encoding: "utf8",
      });
      expect(direct.status).toBe(14);
      expect(commands.map((c) => p.run(c, env))).toEqual(plain);
      expect(p.starts().filter((l) => l.includes("--snapshot-blob"))).toEqual([]);
    });
  });
});

describe("nix/package.nix tests", () => {
  it("ran, or said why not", (ctx) => {
    if (SKIP_NIX) ctx.skip(NIX_MISSING);
    expect(nixData().lib).toBeTruthy();
  });
});
