// git's ref files read without git (src/recipe/gitRefs.ts), pinned where a one-line slip would
// answer differently from `git rev-parse`: real repositories (SHA-1 and SHA-256, loose and packed
// refs, peeled lines, detached HEAD, a linked worktree's .git file, a reftable marker), upper-case
// names git may take for pseudo-refs, names that would leave refs/tags, a stale .lock file, and
// damaged loose refs, packed-refs lines, HEAD and .git files (the reader must say "unsure", so the
// caller asks git, never a wrong object). Where the reader answers, the answer is git's own.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GitDirs,
  gitDirs,
  headCommit,
  listTags,
  readNamedRef,
  readRef,
  readTag,
} from "../../src/recipe/gitRefs.js";

const root = mkdtempSync(path.join(tmpdir(), "ik-gitrefs-"));
const repo = path.join(root, "repo");
const sha256 = path.join(root, "sha256");
const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-C", cwd, "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
/** What git itself says a revision is (unpeeled), or undefined when git names nothing. */
const revParse = (cwd: string, rev: string): string | undefined => {
  try {
    return git(cwd, "rev-parse", "--verify", "--quiet", rev);
  } catch {
    return undefined;
  }
};
let c1 = "";
let c2 = "";

/** A hand-made ref store (a damaged repository): the files given, nothing else. */
function fakeStore(files: Record<string, string>): GitDirs {
  const d = mkdtempSync(path.join(root, "store-"));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, rel)), { recursive: true });
    writeFileSync(path.join(d, rel), text);
  }
  return { gitDir: d, commonDir: d };
}

beforeAll(() => {
  mkdirSync(repo);
  git(repo, "init", "-q", "-b", "main");
  writeFileSync(path.join(repo, "f"), "1\n");
  git(repo, "add", ".");
  git(repo, "commit", "-qm", "one");
  c1 = git(repo, "rev-parse", "HEAD");
  // Packed: a lightweight and an annotated tag (packed-refs then has a peeled "^" line), and main.
  git(repo, "tag", "p-light");
  git(repo, "tag", "-a", "p-annotated", "-m", "packed annotated");
  git(repo, "pack-refs", "--all");
  writeFileSync(path.join(repo, "f"), "2\n");
  git(repo, "commit", "-qam", "two");
  c2 = git(repo, "rev-parse", "HEAD");
  // Loose, made after the pack.
  git(repo, "tag", "l-light");
  git(repo, "tag", "-a", "l-annotated", "-m", "loose annotated");
  // Upper-case names: git checks .git/NAME (FETCH_HEAD, ORIG_HEAD …) before refs/tags/NAME.
  git(repo, "tag", "LATEST", c1);
  git(repo, "tag", "RC1", c1);
  git(repo, "tag", "v2_RC", c1);
  git(repo, "tag", "1.0.0+1.21.0", c1);

  mkdirSync(sha256);
  git(sha256, "init", "-q", "-b", "main", "--object-format=sha256");
  writeFileSync(path.join(sha256, "f"), "1\n");
  git(sha256, "add", ".");
  git(sha256, "commit", "-qm", "one");
  git(sha256, "tag", "packed-256");
  git(sha256, "pack-refs", "--all");
  git(sha256, "tag", "-a", "loose-256", "-m", "annotated");
});

afterAll(() => {
  // `rm -rf` copes with the tree deeper than PATH_MAX made below; rmSync need not.
  execFileSync("rm", ["-rf", root]);
});

describe("tags and branches, as git names them", () => {
  it.each([
    ["a loose lightweight tag", "l-light"],
    ["a loose annotated tag (the tag object, unpeeled)", "l-annotated"],
    ["a packed lightweight tag", "p-light"],
    ["a packed annotated tag (its line, not the peeled ^ line below it)", "p-annotated"],
    ["a lower-case name ending in upper case", "v2_RC"],
    ["an upper-case name with a digit (no pseudo-ref has one)", "RC1"],
    ["a release tag with + and .", "1.0.0+1.21.0"],
  ])("readTag and readNamedRef: %s", (_n, name) => {
    const want = revParse(repo, `refs/tags/${name}`);
    expect(want).toMatch(/^[0-9a-f]{40}$/);
    const d = gitDirs(repo)!;
    expect(readTag(d, name)).toBe(want);
    expect(readNamedRef(d, name)).toBe(want);
  });

  it("the packed annotated tag is its tag object, and the peeled line names the commit", () => {
    const d = gitDirs(repo)!;
    expect(readTag(d, "p-annotated")).not.toBe(c1);
    expect(revParse(repo, "p-annotated^{commit}")).toBe(c1);
  });

  it("a branch kept only in packed-refs", () => {
    git(repo, "branch", "side", c1);
    git(repo, "pack-refs", "--all");
    expect(readNamedRef(gitDirs(repo)!, "side")).toBe(c1);
    expect(revParse(repo, "side")).toBe(c1);
  });

  it.each(["LATEST", "HEAD"])(
    "an upper-case name (%s) is left to git, which may read it as a pseudo-ref (.git/NAME)",
    (name) => {
      const d = gitDirs(repo)!;
      expect(readNamedRef(d, name)).toBeUndefined();
      // readTag is asked for refs/tags/NAME only, so it may answer.
      if (name !== "HEAD") expect(readTag(d, name)).toBe(revParse(repo, `refs/tags/${name}`));
    },
  );

  it.each(["../heads/main", "x/../../heads/main", "nested/../LATEST", ".hidden", "-x", "a..b", "a."])(
    "a name that is not one plain component (%s) is left to git, even where a file exists",
    (name) => {
      // Loose files that each of those names would reach, were it joined onto refs/tags/.
      const d = fakeStore({
        "refs/heads/main": `${c2}\n`,
        "refs/tags/LATEST": `${c1}\n`,
        "refs/tags/.hidden": `${c1}\n`,
        "refs/tags/-x": `${c1}\n`,
        "refs/tags/a..b": `${c1}\n`,
        "refs/tags/a.": `${c1}\n`,
      });
      expect(readRef(d, "refs/heads/main")).toBe(c2);
      expect(readTag(d, name)).toBeUndefined();
      expect(readNamedRef(d, name)).toBeUndefined();
    },
  );

  it("a stale .lock file (an update in progress) is not a tag", () => {
    const d = fakeStore({ "refs/tags/1.0.0.lock": `${c1}\n`, "refs/tags/1.0.0": `${c1}\n` });
    expect(readTag(d, "1.0.0")).toBe(c1);
    expect(readTag(d, "1.0.0.lock")).toBeUndefined();
    expect(readNamedRef(d, "1.0.0.lock")).toBeUndefined();
  });
});

describe("a SHA-256 repository", () => {
  it("64-digit object ids, loose and packed, as git names them", () => {
    const d = gitDirs(sha256)!;
    const loose = revParse(sha256, "refs/tags/loose-256");
    const packed = revParse(sha256, "refs/tags/packed-256");
    expect(loose).toMatch(/^[0-9a-f]{64}$/);
    expect(packed).toMatch(/^[0-9a-f]{64}$/);
    expect(readTag(d, "loose-256")).toBe(loose);
    expect(readTag(d, "packed-256")).toBe(packed);
    expect(headCommit(d)).toBe(revParse(sha256, "HEAD"));
  });
});

describe("damaged ref files: unsure, never a wrong object", () => {
  const HEX40 = "0123456789abcdef0123456789abcdef01234567";
  it.each([
    ["an object id", `${HEX40}\n`, HEX40],
    ["an object id without a newline", HEX40, HEX40],
    ["64 digits (SHA-256)", `${HEX40}${"89abcdef".repeat(3)}\n`, `${HEX40}${"89abcdef".repeat(3)}`],
    ["41 digits", `${HEX40}8\n`, undefined],
    ["a leading non-digit", `x${HEX40}\n`, undefined],
    ["trailing junk", `${HEX40}zz\n`, undefined],
    ["one digit", "a\n", undefined],
    ["39 digits", `${HEX40.slice(1)}\n`, undefined],
    ["40 non-hex letters", `${"z".repeat(40)}\n`, undefined],
    ["64 non-hex letters", `${"z".repeat(64)}\n`, undefined],
    ["upper-case hex", `${HEX40.toUpperCase()}\n`, undefined],
    ["a symbolic ref", "ref: refs/heads/main\n", undefined],
    ["empty", "", undefined],
  ])("a loose ref holding %s", (_n, text, want) => {
    const d = fakeStore({ "refs/tags/t": text });
    expect(readRef(d, "refs/tags/t")).toBe(want);
    expect(readTag(d, "t")).toBe(want);
  });

  it("packed-refs: the header and peeled lines are skipped, damaged lines ignored", () => {
    const peeled = "fedcba9876543210fedcba9876543210fedcba98";
    const d = fakeStore({
      "packed-refs": [
        "# pack-refs with: peeled fully-peeled sorted ",
        `${c1} refs/tags/good`,
        `^${peeled}`,
        `x${c1} refs/tags/lead-junk`,
        `${c1} refs/tags/trail junk`,
        `${c1}0 refs/tags/long`,
        `${c1}  refs/tags/two-blanks`,
        `${c2} refs/heads/main`,
        "",
      ].join("\n"),
    });
    expect(readTag(d, "good")).toBe(c1);
    for (const name of ["lead-junk", "trail", "long", "two-blanks"]) expect(readTag(d, name)).toBeUndefined();
    expect(readNamedRef(d, "main")).toBe(c2);
    // refs/tags does not exist at all here (every ref packed): the packed tags are the list.
    expect(listTags(d)).toEqual(["good"]);
  });

  it("no packed-refs and no refs/tags: no tags, for certain", () => {
    const d = fakeStore({ HEAD: "ref: refs/heads/main\n" });
    expect(listTags(d)).toEqual([]);
    expect(readTag(d, "1.0.0")).toBeUndefined();
  });

  it("refs/tags that is not a directory: the tags cannot be listed", () => {
    const d = fakeStore({ "refs/tags": "not a directory\n" });
    expect(listTags(d)).toBeUndefined();
  });

  it("a tag directory too deep to read: the tags cannot be listed (not a partial list)", () => {
    const d = fakeStore({ "refs/tags/a-first": `${c1}\n`, "refs/tags/z-last": `${c1}\n` });
    // 25 levels of 200-character names: the deepest paths exceed PATH_MAX (ENAMETOOLONG). Made
    // with short names, then renamed from the bottom up, so no path handed over is long.
    const tags = path.join(d.commonDir, "refs/tags");
    const depth = 25;
    mkdirSync(path.join(tags, ...Array<string>(depth).fill("s")), { recursive: true });
    for (let i = depth; i >= 1; i--) {
      const parent = path.join(tags, ...Array<string>(i - 1).fill("s"));
      renameSync(path.join(parent, "s"), path.join(parent, "d".repeat(200)));
    }
    expect(listTags(d)).toBeUndefined();
  });
});

describe("HEAD", () => {
  it("through a branch kept only in packed-refs, and detached: what git says", () => {
    const copy = path.join(root, "head-copy");
    cpSync(repo, copy, { recursive: true });
    git(copy, "pack-refs", "--all");
    expect(headCommit(gitDirs(copy)!)).toBe(revParse(copy, "HEAD"));
    expect(revParse(copy, "HEAD")).toBe(c2);
    git(copy, "checkout", "-q", "--detach", c1);
    expect(headCommit(gitDirs(copy)!)).toBe(c1);
    expect(revParse(copy, "HEAD")).toBe(c1);
  });

  it.each([
    ["a symbolic ref", "ref: refs/heads/main\n", "c2"],
    ["a detached object id", "C1\n", "c1"],
    ["junk before ref:", "xref: refs/heads/main\n", undefined],
    ["junk after the ref name", "ref: refs/heads/main junk\n", undefined],
    ["a ref outside refs/", "ref: HEAD2\n", undefined],
    ["a branch that does not exist yet (a fresh repository)", "ref: refs/heads/none\n", undefined],
    ["nothing", "", undefined],
  ])("a HEAD file holding %s", (_n, text, want) => {
    const d = fakeStore({
      HEAD: text.replace("C1", c1),
      "refs/heads/main": `${c2}\n`,
      HEAD2: `${c1}\n`,
    });
    expect(headCommit(d)).toBe(want === "c2" ? c2 : want === "c1" ? c1 : undefined);
  });

  it("no HEAD file", () => {
    expect(headCommit(fakeStore({ "refs/heads/main": `${c2}\n` }))).toBeUndefined();
  });
});

describe("gitDirs", () => {
  it("a .git file whose gitdir line is not at a line's start: not understood", () => {
    const odd = mkdtempSync(path.join(root, "odd-"));
    writeFileSync(path.join(odd, ".git"), `# gitdir: ${path.join(repo, ".git")}\n`);
    expect(gitDirs(odd)).toBeUndefined();
  });

  // As git reads a .git file: only trailing CR/LF are stripped, and the line opens the file.
  it.each([
    ["a CRLF line end", "gitdir: /srv/x/.git/worktrees/w\r\n", "/srv/x/.git/worktrees/w"],
    ["no line end", "gitdir: /srv/x/.git/worktrees/w", "/srv/x/.git/worktrees/w"],
    ["a trailing space (part of the path)", "gitdir: /srv/x/wt \n", "/srv/x/wt "],
    ["a relative path", "gitdir: ../x/.git\n", "REL"],
    ["the gitdir line second", "# linked\ngitdir: /srv/x/.git\n", undefined],
  ])("a .git file with %s", (_n, text, want) => {
    const odd = mkdtempSync(path.join(root, "gitfile-"));
    writeFileSync(path.join(odd, ".git"), text);
    const expected = want === "REL" ? path.resolve(odd, "../x/.git") : want;
    expect(gitDirs(odd)?.gitDir).toBe(expected);
  });

  it("a repository with a reftable directory (refs in a binary format): left to git", () => {
    const copy = path.join(root, "reftable-copy");
    cpSync(repo, copy, { recursive: true });
    expect(gitDirs(copy)).toBeDefined();
    mkdirSync(path.join(copy, ".git/reftable"));
    expect(gitDirs(copy)).toBeUndefined();
    rmSync(path.join(copy, ".git/reftable"), { recursive: true });
    expect(gitDirs(copy)).toEqual({
      gitDir: path.join(copy, ".git"),
      commonDir: path.join(copy, ".git"),
    });
  });
});
