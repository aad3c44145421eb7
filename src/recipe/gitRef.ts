// Reading a recipe version out of the recipe's git history: `git rev-parse` to find it and
// `git show REV:./path` to read its files, never by checking it out, so the working tree the CI
// run is using stays untouched (abra itself checks the version out, with force, before a deploy).
// Only read-only git commands run here, with GIT_OPTIONAL_LOCKS=0 so that not even the index's
// stat cache is refreshed (https://git-scm.com/docs/git#Documentation/git.txt-codeGITOPTIONALLOCKScode).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { InputError } from "../errors.js";
import { run } from "../exec.js";

async function git(recipeDir: string, args: string[], signal?: AbortSignal) {
  const r = await run("git", ["-C", recipeDir, ...args], {
    timeoutMs: 30_000,
    env: { GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0" },
    ...(signal ? { signal } : {}),
  });
  // A cancelled git has no exit code: that is the interrupt (its reason, as src/cli.ts set it),
  // not an answer such as "no such file at this version".
  signal?.throwIfAborted();
  return r;
}

/** A revision string that git could take for an option, or that holds blanks: refused up front. */
export function checkRevision(rev: string, what: string): void {
  // Blanks and control characters: no ref name has them (git check-ref-format).
  // eslint-disable-next-line no-control-regex
  if (rev.startsWith("-") || /[\s\x00-\x1f\x7f]/.test(rev)) {
    throw new InputError("usage", `${what} "${rev}" is not a git revision`, {
      hint: "Give a tag, branch or commit of the recipe (e.g. 3.1.0+1.22.1).",
    });
  }
}

function notRepo(stderr: string): boolean {
  return /not a git repository/i.test(stderr);
}

export class NotARepository extends Error {
  override name = "NotARepository";
}

/**
 * What REV names, unpeeled (an annotated tag gives the tag object), checked to reach a commit; or
 * undefined when REV names nothing. Throws NotARepository outside a git checkout.
 */
export async function revParse(recipeDir: string, rev: string, signal?: AbortSignal) {
  // One call: the direct object, then the commit it peels to; both must exist.
  const r = await git(recipeDir, ["rev-parse", "--verify", "--quiet", rev], signal);
  if (notRepo(r.stderr)) throw new NotARepository(recipeDir);
  if (r.exitCode !== 0) return undefined;
  const c = await git(recipeDir, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], signal);
  if (c.exitCode !== 0) return undefined;
  return { oid: r.stdout.trim(), commit: c.stdout.trim() };
}

/** Every tag of the recipe (`git tag --list`). Throws NotARepository outside a git checkout. */
export async function listTagsGit(recipeDir: string, signal?: AbortSignal): Promise<string[]> {
  const r = await git(recipeDir, ["tag", "--list"], signal);
  if (notRepo(r.stderr)) throw new NotARepository(recipeDir);
  return r.stdout.split("\n").filter((t) => t !== "");
}

/** The text of a file (relative to the recipe directory) at REV, or undefined when REV has no such file. */
export async function readAtRevision(
  recipeDir: string,
  rev: string,
  rel: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const exists = await git(recipeDir, ["cat-file", "-e", `${rev}:./${rel}`], signal);
  if (exists.exitCode !== 0) return undefined;
  const r = await git(recipeDir, ["show", `${rev}:./${rel}`], signal);
  if (r.exitCode !== 0) {
    throw new InputError("git", `cannot read ${rel} at ${rev} in ${recipeDir}: ${r.stderr.trim()}`, {
      hint: `Check that ${rel} exists in that version ('git -C ${recipeDir} ls-tree ${rev}').`,
    });
  }
  return r.stdout;
}

/** Does REV have this file (relative to the recipe directory)? */
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
