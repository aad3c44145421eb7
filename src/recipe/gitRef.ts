// `--ref GITREF`: the upgrade step's "new version". The compose files are read from the recipe's git
// history with `git show REF:./path`, never by checking the ref out, so the working tree the CI run
// is using stays untouched.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { InputError } from "../errors.js";
import { run } from "../exec.js";

async function git(recipeDir: string, args: string[], signal?: AbortSignal) {
  return run("git", ["-C", recipeDir, ...args], { timeoutMs: 30_000, ...(signal ? { signal } : {}) });
}

export async function verifyRef(recipeDir: string, ref: string, signal?: AbortSignal): Promise<string> {
  const r = await git(recipeDir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], signal);
  if (r.exitCode !== 0) {
    const notRepo = /not a git repository/i.test(r.stderr);
    throw new InputError(
      "git",
      notRepo
        ? `${recipeDir} is not a git repository, so --ref ${ref} cannot be read`
        : `--ref ${ref} names no commit in ${recipeDir}`,
      {
        hint: notRepo
          ? "Point --recipe at the recipe's git checkout, or drop --ref to read the working tree."
          : `List the recipe's versions with 'git -C ${recipeDir} tag' (and 'git fetch --tags' if the version is new).`,
      },
    );
  }
  return r.stdout.trim();
}

/** Does REF have this file (relative to the recipe directory)? */
export async function existsAtRef(
  recipeDir: string,
  ref: string,
  rel: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const r = await git(recipeDir, ["cat-file", "-e", `${ref}:./${rel}`], signal);
  return r.exitCode === 0;
}

/** Copy the named files as they are at REF into a fresh temp dir (same relative paths). */
export async function materializeAtRef(
  recipeDir: string,
  ref: string,
  rels: string[],
  signal?: AbortSignal,
): Promise<{ dir: string; contents: Map<string, string> }> {
  const dir = mkdtempSync(path.join(tmpdir(), "imagekeeper-ref-"));
  const contents = new Map<string, string>();
  for (const rel of rels) {
    const r = await git(recipeDir, ["show", `${ref}:./${rel}`], signal);
    if (r.exitCode !== 0) {
      throw new InputError("git", `cannot read ${rel} at ${ref} in ${recipeDir}: ${r.stderr.trim()}`, {
        hint: `Check that ${rel} exists in that version ('git -C ${recipeDir} ls-tree ${ref}').`,
      });
    }
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), r.stdout);
    contents.set(rel, r.stdout);
  }
  return { dir, contents };
}
