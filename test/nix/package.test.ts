// nix/package.nix evaluated with nixpkgs' lib and stand-ins for its inputs (test/nix/package.nix),
// then its install and install-check phases run here in bash, against a fresh bundle, with a
// minimal makeWrapper: the wrapper starts the bundle with node and puts the tools on PATH, and the
// install check (--version, the images of the fixture recipe) passes. Skipped, loudly, without
// IMAGEKEEPER_NIXPKGS_LIB or nix-instantiate (see module.test.ts).
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const LIB = process.env.IMAGEKEEPER_NIXPKGS_LIB;
const HAS_NIX = spawnSync("nix-instantiate", ["--version"], { stdio: "ignore" }).status === 0;
const SKIP = !LIB || !HAS_NIX;
if (SKIP)
  process.stderr.write(
    `\n*** test/nix/package.test.ts SKIPPED: ${!LIB ? "IMAGEKEEPER_NIXPKGS_LIB is unset" : "nix-instantiate is not installed"} ***\n\n`,
  );

interface Evaluated {
  pname: string;
  version: string;
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

// makeWrapper as the phases use it (--add-flags, --prefix VAR SEP VALUE), nothing more: anything
// else fails, so a phase that starts relying on more shows up here.
const MAKE_WRAPPER = String.raw`
runHook() { :; }
makeWrapper() {
  local exe=$1 out=$2 flags="" env=""; shift 2
  while [ $# -gt 0 ]; do
    case $1 in
      --add-flags) flags="$flags $2"; shift 2 ;;
      --prefix) env="$env export $2=$4\${$2:+$3\$$2};"; shift 4 ;;
      *) echo "makeWrapper stand-in: unsupported $1" >&2; return 1 ;;
    esac
  done
  mkdir -p "$(dirname "$out")"
  printf '#!/usr/bin/env bash\n%s\nexec %s%s "$@"\n' "$env" "$exe" "$flags" > "$out"
  chmod +x "$out"
}
`;

describe.skipIf(SKIP)("nix/package.nix", () => {
  const evaluate = (): Evaluated => {
    const prefixes = {
      nodejs: path.dirname(path.dirname(process.execPath)),
      docker: prefixOf("docker"),
      git: prefixOf("git"),
      utilLinux: prefixOf("flock"),
      coreutils: prefixOf("install"),
    };
    const out = execFileSync(
      "nix-instantiate",
      ["--eval", "--strict", "--json", "test/nix/package.nix"].concat([
        "--argstr",
        "nixpkgsLib",
        LIB!,
        "--argstr",
        "prefixes",
        JSON.stringify(prefixes),
      ]),
      { encoding: "utf8" },
    );
    return JSON.parse(out) as Evaluated;
  };

  it("installs the committed bundle, named and versioned as package.json says, without npm", () => {
    const d = evaluate();
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { name: string; version: string };
    expect(d).toMatchObject({ pname: pkg.name, version: pkg.version, mainProgram: "imagekeeper" });
    expect(d.dontBuild).toBe(true);
    expect(d.doInstallCheck).toBe(true);
    expect(d.inputs).toEqual(["make-wrapper"]);
    expect(d.installPhase).toContain("dist/imagekeeper.mjs");
    expect(`${d.installPhase}${d.installCheckPhase}`).not.toMatch(/\bnpm\b/);
  });

  it("its install phase builds a working wrapper and its install check passes", () => {
    const d = evaluate();
    // The source as the package's filter keeps it, with the bundle built fresh from src/.
    const src = mkdtempSync(path.join(tmpdir(), "ikpkg-"));
    cpSync("package.json", path.join(src, "package.json"));
    cpSync("test/fixtures/recipes/simple", path.join(src, "test/fixtures/recipes/simple"), {
      recursive: true,
    });
    mkdirSync(path.join(src, "dist"));
    execFileSync(process.execPath, [
      "scripts/build.mjs",
      "--outfile",
      path.join(src, "dist/imagekeeper.mjs"),
    ]);
    const out = path.join(src, "out");
    const script = `set -euo pipefail\n${MAKE_WRAPPER}\n${d.installPhase}\n${d.installCheckPhase}`;
    const scratch = mkdtempSync(path.join(tmpdir(), "ikpkg-tmp-"));
    const r = spawnSync("bash", ["-c", script], {
      cwd: src,
      encoding: "utf8",
      // Like the build sandbox: a bare PATH (the wrapper must bring its tools), no home, no stdin
      // (bash would take a socket on stdin for sshd and read ~/.bashrc).
      env: { PATH: "/usr/bin:/bin", out, TMPDIR: scratch, HOME: "/homeless-shelter" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["nginx:1.27.1", "postgres:16.4"]);
  });
});
