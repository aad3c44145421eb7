// Reading a recipe version out of git without checking it out, against a real scratch repository
// (git is a build and test dependency): revisions refused up front, what a revision names, the
// tags, and a file's text at a revision (absent, present, copied out). Also pinned: the environment
// every git call gets (no optional locks, no prompt), an aborted signal running no git, an
// ambiguous short id naming nothing, and the exact error for a file git cannot read (a damaged
// object; a file the version lacks) with git's own words in it.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { InputError, InterruptedError } from "../../src/errors.js";
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
    // git's own words, trimmed, end the message.
    const said = gitStderr(repo, "show", "1.0.0:./sub/compose.x.yml");
    expect(said).toMatch(/sub\/compose\.x\.yml/);
    expect(e.message).toBe(`cannot read sub/compose.x.yml at 1.0.0 in ${repo}: ${said.trim()}`);
    expect(e.hint).toBe(
      `Check that sub/compose.x.yml exists in that version ('git -C ${repo} ls-tree 1.0.0').`,
    );
  });
});

/** What git writes to stderr for a command that fails. */
function gitStderr(cwd: string, ...args: string[]): string {
  try {
    execFileSync("git", ["-C", cwd, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    return String((e as { stderr: Buffer }).stderr);
  }
  throw new Error(`git ${args.join(" ")} succeeded`);
}

describe("how git is run", () => {
  const repo = mkdtempSync(path.join(tmpdir(), "ik-gitref-env-"));
  const shim = mkdtempSync(path.join(tmpdir(), "ik-gitref-shim-"));
  const log = path.join(shim, "calls");
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
      encoding: "utf8",
    }).trim();
  let commit = "";

  beforeAll(() => {
    git("init", "-q");
    writeFileSync(path.join(repo, "compose.yml"), "v1\n");
    git("add", ".");
    git("commit", "-qm", "one");
    commit = git("rev-parse", "HEAD");
    git("tag", "1.0.0");
    // A `git` first on PATH that notes the two variables, then runs the real git.
    const real = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
    writeFileSync(
      path.join(shim, "git"),
      `#!/bin/sh\nprintf '%s %s\\n' "\${GIT_OPTIONAL_LOCKS-unset}" "\${GIT_TERMINAL_PROMPT-unset}" >> '${log}'\nexec '${real}' "$@"\n`,
    );
    chmodSync(path.join(shim, "git"), 0o755);
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  const calls = () => {
    try {
      return readFileSync(log, "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };

  it("every git call runs without optional locks and without a prompt, whatever the caller's environment says", async () => {
    vi.stubEnv("PATH", `${shim}:${process.env.PATH ?? ""}`);
    vi.stubEnv("GIT_OPTIONAL_LOCKS", "1");
    vi.stubEnv("GIT_TERMINAL_PROMPT", "1");
    const before = calls().length;
    expect(await revParse(repo, "1.0.0")).toEqual({ oid: commit, commit });
    expect(await listTagsGit(repo)).toEqual(["1.0.0"]);
    expect(await readAtRevision(repo, "1.0.0", "compose.yml")).toBe("v1\n");
    expect(await existsAtRef(repo, "1.0.0", "compose.yml")).toBe(true);
    await materializeAtRef(repo, "1.0.0", ["compose.yml"]);
    // rev-parse twice, tag, cat-file + show, cat-file, show.
    expect(calls().slice(before)).toEqual(Array<string>(7).fill("0 0"));
  });

  it("an aborted signal runs no git, and is the interrupt (its reason), not an answer", async () => {
    vi.stubEnv("PATH", `${shim}:${process.env.PATH ?? ""}`);
    const before = calls().length;
    const reason = new InterruptedError("SIGINT");
    await expect(revParse(repo, "1.0.0", AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(calls().length).toBe(before);
  });

  it("outside a checkout the error is a NotARepository by name", async () => {
    const none = mkdtempSync(path.join(tmpdir(), "ik-gitref-none-"));
    const e = (await revParse(none, "1.0.0").catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(NotARepository);
    expect([e.name, e.message]).toEqual(["NotARepository", none]);
  });

  it("revParse: a short id that is ambiguous (a commit and a blob share it) names nothing", async () => {
    const prefix = commit.slice(0, 4);
    // A blob whose id starts with the commit's first four digits, found by hashing as git does.
    let text = "";
    for (let i = 0; ; i++) {
      text = `x${i}\n`;
      const id = createHash("sha1").update(`blob ${text.length}\0${text}`).digest("hex");
      if (id.startsWith(prefix)) break;
    }
    execFileSync("git", ["-C", repo, "hash-object", "-w", "--stdin"], { input: text });
    // git itself: the bare prefix is ambiguous, with ^{commit} it is the commit.
    expect(gitStderr(repo, "rev-parse", "--verify", prefix)).toMatch(/ambiguous/);
    expect(git("rev-parse", "--verify", "--quiet", `${prefix}^{commit}`)).toBe(commit);
    expect(await revParse(repo, prefix)).toBeUndefined();
  });

  it("readAtRevision: a file git cannot read (a damaged object) is bad input with git's words", async () => {
    const broken = mkdtempSync(path.join(tmpdir(), "ik-gitref-broken-"));
    const g = (...args: string[]) =>
      execFileSync("git", ["-C", broken, "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
        encoding: "utf8",
      }).trim();
    g("init", "-q");
    writeFileSync(
      path.join(broken, "compose.yml"),
      Array.from({ length: 20000 }, (_, i) => `${i}\n`).join(""),
    );
    g("add", ".");
    g("commit", "-qm", "one");
    g("tag", "1.0.0");
    // Damage the middle of the loose object: its header still reads (so `cat-file -e` finds it),
    // its content does not inflate.
    const blob = g("rev-parse", "1.0.0:compose.yml");
    const file = path.join(broken, ".git/objects", blob.slice(0, 2), blob.slice(2));
    chmodSync(file, 0o644);
    const bytes = readFileSync(file);
    bytes.write("garbagegarbage", Math.floor(statSync(file).size / 2));
    writeFileSync(file, bytes);
    const said = gitStderr(broken, "show", "1.0.0:./compose.yml");
    expect(said.trim()).not.toBe("");
    expect(await existsAtRef(broken, "1.0.0", "compose.yml")).toBe(true);
    const e = (await readAtRevision(broken, "1.0.0", "compose.yml").catch((x: unknown) => x)) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.kind).toBe("git");
    expect(e.message).toBe(`cannot read compose.yml at 1.0.0 in ${broken}: ${said.trim()}`);
    expect(e.hint).toBe(`Check that compose.yml exists in that version ('git -C ${broken} ls-tree 1.0.0').`);
  });

  it("materializeAtRef: the copy is a fresh imagekeeper-ref-* directory in the temp dir", async () => {
    const { dir } = await materializeAtRef(repo, "1.0.0", ["compose.yml"]);
    expect(path.dirname(dir)).toBe(tmpdir());
    expect(path.basename(dir)).toMatch(/^imagekeeper-ref-[A-Za-z0-9]{6}$/);
  });
});
