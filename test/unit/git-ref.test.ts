// Reading a recipe version out of git without checking it out, against a real scratch repository
// (git is a build and test dependency): revisions refused up front, what a revision names, the
// tags, and a file's text at a revision (absent, present, copied out).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import {
  checkRevision,
  existsAtRef,
  listTagsGit,
  materializeAtRef,
  NotARepository,
  readAtRevision,
  revParse,
} from "../../src/recipe/gitRef.js";

describe("checkRevision", () => {
  it.each(["3.1.0+1.22.1", "main", "v1-rc", "a1b2c3d", "refs/tags/1.0.0"])("%s is accepted", (rev) => {
    expect(() => checkRevision(rev, "--ref")).not.toThrow();
  });

  it.each(["-x", "--upload-pack=evil", "a b", "a\tb", "a\nb", "a\x00b", "a\x1fb", "a\x7fb", " main"])(
    "%j is refused as a usage error",
    (rev) => {
      const e = (() => {
        try {
          checkRevision(rev, "--ref");
        } catch (x) {
          return x;
        }
        return undefined;
      })() as InputError;
      expect(e).toBeInstanceOf(InputError);
      expect([e.kind, e.message]).toEqual(["usage", `--ref "${rev}" is not a git revision`]);
      expect(e.hint).toBe("Give a tag, branch or commit of the recipe (e.g. 3.1.0+1.22.1).");
    },
  );
});

describe("a recipe's git history", () => {
  const repo = mkdtempSync(path.join(tmpdir(), "ik-gitref-"));
  const notRepo = mkdtempSync(path.join(tmpdir(), "ik-gitref-none-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
      encoding: "utf8",
    }).trim();
  let first = "";
  let second = "";
  let tagObject = "";

  beforeAll(() => {
    git("init", "-q");
    writeFileSync(path.join(repo, "compose.yml"), "v1\n");
    git("add", ".");
    git("commit", "-qm", "one");
    first = git("rev-parse", "HEAD");
    git("tag", "1.0.0");
    mkdirSync(path.join(repo, "sub"));
    writeFileSync(path.join(repo, "compose.yml"), "v2\n");
    writeFileSync(path.join(repo, "sub/compose.x.yml"), "x\n");
    git("add", ".");
    git("commit", "-qm", "two");
    second = git("rev-parse", "HEAD");
    git("tag", "-a", "2.0.0", "-m", "annotated");
    tagObject = git("rev-parse", "2.0.0");
  });

  it("revParse: a lightweight tag names its commit", async () => {
    expect(await revParse(repo, "1.0.0")).toEqual({ oid: first, commit: first });
  });

  it("revParse: an annotated tag gives the tag object, peeled to its commit", async () => {
    expect(tagObject).not.toBe(second);
    expect(await revParse(repo, "2.0.0")).toEqual({ oid: tagObject, commit: second });
  });

  it("revParse: nothing by that name, or not a commit, is undefined", async () => {
    expect(await revParse(repo, "9.9.9")).toBeUndefined();
    expect(await revParse(repo, "HEAD^{tree}")).toBeUndefined();
  });

  it("outside a git checkout: NotARepository", async () => {
    await expect(revParse(notRepo, "1.0.0")).rejects.toBeInstanceOf(NotARepository);
    await expect(listTagsGit(notRepo)).rejects.toBeInstanceOf(NotARepository);
  });

  it("listTagsGit: every tag, nothing else", async () => {
    expect((await listTagsGit(repo)).sort()).toEqual(["1.0.0", "2.0.0"]);
  });

  it("readAtRevision: the file as it was, or undefined when that version has none", async () => {
    expect(await readAtRevision(repo, "1.0.0", "compose.yml")).toBe("v1\n");
    expect(await readAtRevision(repo, "2.0.0", "compose.yml")).toBe("v2\n");
    expect(await readAtRevision(repo, "2.0.0", "sub/compose.x.yml")).toBe("x\n");
    expect(await readAtRevision(repo, "1.0.0", "sub/compose.x.yml")).toBeUndefined();
  });

  it("existsAtRef", async () => {
    expect(await existsAtRef(repo, "2.0.0", "sub/compose.x.yml")).toBe(true);
    expect(await existsAtRef(repo, "1.0.0", "sub/compose.x.yml")).toBe(false);
  });

  it("materializeAtRef: the files at that version in a fresh directory, same relative paths", async () => {
    const { dir, contents } = await materializeAtRef(repo, "2.0.0", ["compose.yml", "sub/compose.x.yml"]);
    expect(dir).not.toBe(repo);
    expect(readFileSync(path.join(dir, "compose.yml"), "utf8")).toBe("v2\n");
    expect(readFileSync(path.join(dir, "sub/compose.x.yml"), "utf8")).toBe("x\n");
    expect([...contents]).toEqual([
      ["compose.yml", "v2\n"],
      ["sub/compose.x.yml", "x\n"],
    ]);
    // The working tree is untouched.
    expect(readFileSync(path.join(repo, "compose.yml"), "utf8")).toBe("v2\n");
  });

  it("materializeAtRef: a file that version lacks is bad input naming it and the version", async () => {
    const e = (await materializeAtRef(repo, "1.0.0", ["sub/compose.x.yml"]).catch(
      (x: unknown) => x,
    )) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.kind).toBe("git");
    expect(e.message).toMatch(new RegExp(`^cannot read sub/compose.x.yml at 1.0.0 in ${repo}: \\S`));
    expect(e.hint).toBe(
      `Check that sub/compose.x.yml exists in that version ('git -C ${repo} ls-tree 1.0.0').`,
    );
  });
});
