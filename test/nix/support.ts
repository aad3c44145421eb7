// What the Nix tests share: where nixpkgs comes from, and how nix-instantiate is run.
//
// nixpkgs is never committed and nothing is fetched at test time: the archives in ../shared/nix
// (beside every checkout, CI's included; IMAGEKEEPER_NIX_DATA names another directory) are
// unpacked by test/nix/extract.sh into a cache outside the repository. scripts/test.sh does that
// and exports IMAGEKEEPER_NIXPKGS_LIB and IMAGEKEEPER_NIXOS with IMAGEKEEPER_NIX_REQUIRED=1, so in
// CI a missing archive fails every Nix test; run on their own (`npm run test:nix`), the tests
// unpack the archives themselves, and without them skip with a loud message.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
const REQUIRED = process.env.IMAGEKEEPER_NIX_REQUIRED === "1";

export interface NixData {
  /** A directory holding nixpkgs' current lib/. */
  lib: string;
  /** The nixpkgs 20.09 tree (nixos/lib/eval-config.nix). */
  nixos: string;
}

function locate(): NixData | string {
  if (spawnSync("nix-instantiate", ["--version"], { stdio: "ignore" }).status !== 0)
    return "nix-instantiate is not installed (scripts/setup.sh installs nix-bin)";
  let lib = process.env.IMAGEKEEPER_NIXPKGS_LIB;
  let nixos = process.env.IMAGEKEEPER_NIXOS;
  if (!lib || !nixos) {
    const data = path.resolve(REPO, process.env.IMAGEKEEPER_NIX_DATA ?? "../shared/nix");
    if (!existsSync(data))
      return `${data} does not exist: the Nix test data (nixpkgs-lib.tar.xz, nixos-20.09-subset.tar.xz) lives beside the checkout in ../shared/nix, or set IMAGEKEEPER_NIX_DATA`;
    const r = spawnSync("bash", [path.join(REPO, "test/nix/extract.sh"), data], { encoding: "utf8" });
    if (r.status !== 0) return `test/nix/extract.sh failed: ${r.stderr.trim()}`;
    const vars = Object.fromEntries(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    lib = vars.IMAGEKEEPER_NIXPKGS_LIB;
    nixos = vars.IMAGEKEEPER_NIXOS;
  }
  if (!lib || !existsSync(path.join(lib, "lib/default.nix")))
    return `no nixpkgs lib at ${lib}/lib/default.nix (IMAGEKEEPER_NIXPKGS_LIB)`;
  if (!nixos || !existsSync(path.join(nixos, "nixos/lib/eval-config.nix")))
    return `no NixOS tree at ${nixos}/nixos/lib/eval-config.nix (IMAGEKEEPER_NIXOS)`;
  return { lib, nixos };
}

const located = locate();
/** Why the Nix tests cannot run here, or undefined. */
export const NIX_MISSING = typeof located === "string" ? located : undefined;
/** Skip (loudly) on a developer's machine; never in CI, where the tests fail with the reason. */
export const SKIP_NIX = NIX_MISSING !== undefined && !REQUIRED;
if (NIX_MISSING)
  process.stderr.write(
    `\n*** test/nix ${REQUIRED ? "CANNOT RUN (IMAGEKEEPER_NIX_REQUIRED=1)" : "SKIPPED"}: ${NIX_MISSING} ***\n\n`,
  );

export function nixData(): NixData {
  if (typeof located === "string") throw new Error(`the Nix tests cannot run: ${located}`);
  return located;
}

export interface NixResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * nix-instantiate with no side effect on the machine: a dummy store (derivations and store paths
 * are computed, never written) and no build users. `args` follow the command name.
 */
export function nixInstantiate(args: string[], timeoutMs = 120_000): NixResult {
  const r = spawnSync("nix-instantiate", ["--store", "dummy://", "--readonly-mode", ...args], {
    cwd: REPO,
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NIX_CONFIG: "build-users-group =" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `nix-instantiate --parse FILE` succeeded. */
export function parses(file: string): boolean {
  return nixInstantiate(["--parse", file]).status === 0;
}

/** A fresh bundle of the CLI as it ships, built from src/ (the committed one may lag). */
export function buildBundle(outfile: string): void {
  execFileSync(process.execPath, [path.join(REPO, "scripts/build.mjs"), "--outfile", outfile], { cwd: REPO });
}

/** A unit file's directives, each with every value it has (repeated keys accumulate). */
export function directives(unitText: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of unitText.split("\n")) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)=(.*)$/.exec(line);
    if (m) (out[m[1]!] ??= []).push(m[2]!);
  }
  return out;
}
