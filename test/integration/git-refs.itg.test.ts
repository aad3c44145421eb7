// The ref-file reader (src/recipe/gitRefs.ts) against real git: whatever it answers must be what
// `git rev-parse` answers, and where it is unsure it must say undefined (the caller then asks git).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gitDirs, headCommit, listTags, readNamedRef, readTag } from "../../src/recipe/gitRefs.js";

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org", ...args])
    .toString()
    .trim();
}

function repo(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "ikrefs-"));
  git(dir, "init", "-q", "-b", "main");
  writeFileSync(path.join(dir, "compose.yml"), "version: '3.8'\n");
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "one");
  git(dir, "tag", "1.0.0+1.25.3");
  git(dir, "tag", "-a", "-m", "annotated", "2.0.0+1.27.1");
  git(dir, "tag", "release/3.0.0");
  writeFileSync(path.join(dir, "compose.yml"), "version: '3.8'\n# two\n");
  git(dir, "commit", "-qam", "two");
  return dir;
}

describe("gitRefs reads what git reads", () => {
  it.each([
    ["loose refs", false],
    ["packed refs", true],
  ])("%s", (_n, pack) => {
    const dir = repo();
    if (pack) git(dir, "pack-refs", "--all");
    const dirs = gitDirs(dir)!;
    expect(dirs).toBeDefined();
    // Unpeeled: an annotated tag gives its tag object, as `git rev-parse refs/tags/X` does.
    for (const t of ["1.0.0+1.25.3", "2.0.0+1.27.1"])
      expect(readTag(dirs, t)).toBe(git(dir, "rev-parse", `refs/tags/${t}`));
    expect(readTag(dirs, "2.0.0+1.27.1")).not.toBe(git(dir, "rev-parse", "2.0.0+1.27.1^{commit}"));
    expect(readNamedRef(dirs, "main")).toBe(git(dir, "rev-parse", "main"));
    expect(headCommit(dirs)).toBe(git(dir, "rev-parse", "HEAD"));
    expect(listTags(dirs)?.sort()).toStrictEqual(git(dir, "tag", "--list").split("\n").sort());
    expect(readTag(dirs, "9.9.9")).toBeUndefined();
  });

  it("a loose ref wins over a stale packed one (a moved tag)", () => {
    const dir = repo();
    git(dir, "pack-refs", "--all");
    git(dir, "tag", "-f", "1.0.0+1.25.3", "HEAD");
    expect(readTag(gitDirs(dir)!, "1.0.0+1.25.3")).toBe(git(dir, "rev-parse", "HEAD"));
  });

  it("a detached HEAD and a linked worktree (refs in the common dir, HEAD in its own)", () => {
    const dir = repo();
    git(dir, "checkout", "-q", "1.0.0+1.25.3");
    expect(headCommit(gitDirs(dir)!)).toBe(git(dir, "rev-parse", "HEAD"));
    const wt = path.join(mkdtempSync(path.join(tmpdir(), "ikwt-")), "wt");
    git(dir, "worktree", "add", "-q", wt, "main");
    const dirs = gitDirs(wt)!;
    expect(headCommit(dirs)).toBe(git(wt, "rev-parse", "HEAD"));
    expect(headCommit(dirs)).not.toBe(git(dir, "rev-parse", "HEAD"));
    expect(readTag(dirs, "2.0.0+1.27.1")).toBe(git(wt, "rev-parse", "refs/tags/2.0.0+1.27.1"));
  });

  it.each([
    ["a name with /", "release/3.0.0"],
    ["a path out of refs/", "../../HEAD"],
    ["a pseudo-ref", "HEAD"],
    ["a .lock name", "x.lock"],
    ["a leading dot", ".hidden"],
  ])("unsure about %s: undefined, so git is asked", (_n, name) => {
    const dirs = gitDirs(repo())!;
    expect(readTag(dirs, name) ?? readNamedRef(dirs, name)).toBeUndefined();
  });

  it("not the top of a checkout, or a reftable repository: no reader at all", () => {
    const dir = repo();
    expect(gitDirs(path.join(dir, "sub"))).toBeUndefined();
    const plain = mkdtempSync(path.join(tmpdir(), "ikplain-"));
    expect(gitDirs(plain)).toBeUndefined();
    execFileSync("mkdir", [path.join(dir, ".git", "reftable")]);
    expect(gitDirs(dir)).toBeUndefined();
  });
});
