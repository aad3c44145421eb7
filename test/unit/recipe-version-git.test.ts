// Which recipe version a deploy reads, found in a real scratch git repository as abra finds it:
// git's ref files read without a process (loose and packed tags, branches, HEAD, a linked
// worktree), the chosen version located (--ref, a pinned tag, a pinned commit id, the working
// tree), the errors that name the nearest tags, and the line a person reads. Pinned exactly: what
// counts as a pinned commit id (all hex, start to end), the not-a-repository error for --ref even
// with a pin present, and the working-tree line when there is no newest tag to name.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import {
  gitDirs,
  headCommit,
  isCheckout,
  listTags,
  readNamedRef,
  readRef,
  readTag,
} from "../../src/recipe/gitRefs.js";
import type { Pin } from "../../src/recipe/pin.js";
import {
  describeVersion,
  type LocatedVersion,
  locateVersion,
  reportedVersion,
  type VersionChoice,
} from "../../src/recipe/version.js";

const root = mkdtempSync(path.join(tmpdir(), "ik-version-"));
const repo = path.join(root, "recipe");
const plain = path.join(root, "plain");
const wt = path.join(root, "linked");
const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-C", cwd, "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
    encoding: "utf8",
  }).trim();
let c1 = "";
let c2 = "";
let annotated = "";

const pin = (version: string | undefined, fromSet = false): Pin => ({
  recipe: "gitea",
  version,
  chaosDirty: false,
  source: fromSet
    ? { key: "TYPE", file: undefined, line: undefined }
    : { key: "TYPE", file: "/apps/a.env", line: 3 },
});
const choice = (source: VersionChoice["source"], version?: string, p?: Pin): VersionChoice => ({
  source,
  version,
  pin: p,
});
const failure = async (p: Promise<unknown>) =>
  (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as InputError;

beforeAll(() => {
  mkdirSync(repo);
  mkdirSync(plain);
  git(repo, "init", "-q", "-b", "main");
  writeFileSync(path.join(repo, "compose.yml"), "1\n");
  git(repo, "add", ".");
  git(repo, "commit", "-qm", "one");
  c1 = git(repo, "rev-parse", "HEAD");
  git(repo, "tag", "1.0.0+1.21.0");
  git(repo, "tag", "packed-1");
  git(repo, "pack-refs", "--all");
  writeFileSync(path.join(repo, "compose.yml"), "2\n");
  git(repo, "commit", "-qam", "two");
  c2 = git(repo, "rev-parse", "HEAD");
  git(repo, "tag", "-a", "2.0.0+1.22.0", "-m", "release");
  annotated = git(repo, "rev-parse", "2.0.0+1.22.0");
  git(repo, "tag", "nested/x");
  git(repo, "branch", "feature", c1);
  git(repo, "worktree", "add", "-q", "--detach", wt, c1);
});

describe("git's ref files, read without git", () => {
  it("gitDirs: a checkout's .git; a linked worktree's gitdir file and its common dir; none elsewhere", () => {
    expect(gitDirs(repo)).toEqual({ gitDir: path.join(repo, ".git"), commonDir: path.join(repo, ".git") });
    const linked = gitDirs(wt)!;
    expect(linked.gitDir).toBe(path.join(repo, ".git/worktrees/linked"));
    expect(linked.commonDir).toBe(path.join(repo, ".git"));
    expect(gitDirs(plain)).toBeUndefined();
    expect([isCheckout(repo), isCheckout(wt), isCheckout(plain)]).toEqual([true, true, false]);
  });

  it("a .git file that names no gitdir: not understood", () => {
    const odd = path.join(root, "odd");
    mkdirSync(odd);
    writeFileSync(path.join(odd, ".git"), "something else\n");
    expect(gitDirs(odd)).toBeUndefined();
  });

  it("tags: loose and packed, unpeeled; a loose ref wins over packed-refs", () => {
    const d = gitDirs(repo)!;
    expect(readTag(d, "1.0.0+1.21.0")).toBe(c1);
    expect(readTag(d, "packed-1")).toBe(c1);
    expect(readTag(d, "2.0.0+1.22.0")).toBe(annotated);
    expect(readRef(d, "refs/tags/2.0.0+1.22.0")).toBe(annotated);
    expect(readTag(d, "9.9.9")).toBeUndefined();
    // A name with "/" or an unusual one is left to git.
    expect(readTag(d, "nested/x")).toBeUndefined();
    expect(readTag(d, "../HEAD")).toBeUndefined();
    expect(readTag(d, "x.lock")).toBeUndefined();
  });

  it("readNamedRef: tags before branches; upper-case pseudo-refs are left to git", () => {
    const d = gitDirs(repo)!;
    expect(readNamedRef(d, "main")).toBe(c2);
    expect(readNamedRef(d, "feature")).toBe(c1);
    expect(readNamedRef(d, "packed-1")).toBe(c1);
    expect(readNamedRef(d, "HEAD")).toBeUndefined();
    expect(readNamedRef(d, "ORIG_HEAD")).toBeUndefined();
    expect(readNamedRef(d, "nope")).toBeUndefined();
  });

  it("headCommit: through the branch, or detached", () => {
    expect(headCommit(gitDirs(repo)!)).toBe(c2);
    expect(headCommit(gitDirs(wt)!)).toBe(c1);
  });

  it("listTags: loose (nested too) and packed", () => {
    expect(listTags(gitDirs(repo)!)!.sort()).toEqual([
      "1.0.0+1.21.0",
      "2.0.0+1.22.0",
      "nested/x",
      "packed-1",
    ]);
  });
});

describe("locateVersion", () => {
  it("the working tree: no object; HEAD's commit in a checkout, none outside", async () => {
    expect(await locateVersion(repo, choice("working-tree"))).toMatchObject({ oid: null, head: c2 });
    expect(await locateVersion(wt, choice("chaos"))).toMatchObject({ oid: null, head: c1 });
    expect(await locateVersion(plain, choice("working-tree"))).toMatchObject({ oid: null, head: null });
  });

  it("--ref: a tag, a branch, a commit, an expression git understands", async () => {
    expect((await locateVersion(repo, choice("ref", "2.0.0+1.22.0"))).oid).toBe(annotated);
    expect((await locateVersion(repo, choice("ref", "feature"))).oid).toBe(c1);
    expect((await locateVersion(repo, choice("ref", c1.slice(0, 10)))).oid).toBe(c1);
    expect((await locateVersion(repo, choice("ref", "main~1"))).oid).toBe(c1);
    expect((await locateVersion(repo, choice("ref", "nested/x"))).oid).toBe(c2);
  });

  it("--ref that names nothing: bad input with the nearest tags", async () => {
    const e = await failure(locateVersion(repo, choice("ref", "1.5.0+1.21.0")));
    expect(e).toBeInstanceOf(InputError);
    expect(e.kind).toBe("git");
    expect(e.message).toBe(
      `--ref 1.5.0+1.21.0 names no commit in ${repo}; nearest tags: 1.0.0+1.21.0, 2.0.0+1.22.0, packed-1`,
    );
    expect(e.hint).toMatch(/^List the recipe's versions with 'git -C /);
  });

  it("a pinned tag, packed or annotated; a pinned commit id (after a --chaos deploy)", async () => {
    expect((await locateVersion(repo, choice("pinned", "packed-1", pin("packed-1")))).oid).toBe(c1);
    expect((await locateVersion(repo, choice("pinned", "2.0.0+1.22.0", pin("2.0.0+1.22.0")))).oid).toBe(
      annotated,
    );
    const short = c2.slice(0, 8);
    expect((await locateVersion(repo, choice("pinned", short, pin(short)))).oid).toBe(c2);
    // Through git when the ref files do not say (a name with "/").
    expect((await locateVersion(repo, choice("pinned", "nested/x", pin("nested/x")))).oid).toBe(c2);
  });

  it("a pinned version is a tag, not a branch; not hex, not a commit id", async () => {
    const e = await failure(locateVersion(repo, choice("pinned", "feature", pin("feature"))));
    expect(e.message).toBe(
      `TYPE in /apps/a.env line 3 pins gitea:feature, but feature is not a tag in ${repo}; nearest tags: 1.0.0+1.21.0, 2.0.0+1.22.0, nested/x, packed-1`,
    );
    expect(e.file).toBe("/apps/a.env");
    expect(e.hint).toMatch(/fetch --tags/);
    const abc = await failure(locateVersion(repo, choice("pinned", "abc", pin("abc"))));
    expect(abc.message).toMatch(/but abc is not a tag/);
  });

  it("an all-hex pin that names no commit: neither a tag nor a unique commit id", async () => {
    const e = await failure(locateVersion(repo, choice("pinned", "deadbeef00", pin("deadbeef00"))));
    expect(e.message).toBe(
      `TYPE in /apps/a.env line 3 pins gitea:deadbeef00, but deadbeef00 is neither a tag nor a unique commit id in ${repo}; nearest tags: 1.0.0+1.21.0, 2.0.0+1.22.0, nested/x, packed-1`,
    );
    expect(e.hint).toBe(
      `If the version is new, fetch the recipe's tags ('git -C ${repo} fetch --tags'); otherwise correct the pin (TYPE in /apps/a.env line 3: TYPE=gitea:VERSION with VERSION one of the tags, or a commit id long enough to name one commit), or pass --ref VERSION.`,
    );
  });

  it("a short commit id that names two commits: refused as not unique", async () => {
    // 1000 commits from one fast-import: two of them share a 4-digit prefix (fixed content, so the
    // ids are the same on every run; the birthday bound makes a shared prefix near certain anyway).
    const amb = path.join(root, "ambiguous");
    mkdirSync(amb);
    git(amb, "init", "-q", "-b", "main");
    let stream = "";
    for (let i = 0; i < 1000; i++) {
      const msg = `c${i}\n`;
      stream += `commit refs/heads/main\ncommitter t <t@t> ${1_700_000_000 + i} +0000\ndata ${msg.length}\n${msg}\n`;
    }
    execFileSync("git", ["-C", amb, "fast-import", "--quiet"], { input: stream });
    const ids = git(amb, "rev-list", "main").split("\n");
    const seen = new Map<string, string>();
    const prefix = ids.map((id) => id.slice(0, 4)).find((p) => seen.has(p) || !seen.set(p, p));
    expect(prefix).toBeDefined();
    const e = await failure(locateVersion(amb, choice("pinned", prefix, pin(prefix))));
    expect(e.message).toBe(
      `TYPE in /apps/a.env line 3 pins gitea:${prefix}, but ${prefix} is neither a tag nor a unique commit id in ${amb} (the repository has no tags)`,
    );
  });

  it("a pin from --set names no file", async () => {
    const e = await failure(locateVersion(repo, choice("pinned", "3.0.0", pin("3.0.0", true))));
    expect(e.message).toMatch(/^--set TYPE pins gitea:3\.0\.0, but 3\.0\.0 is not a tag/);
    expect(e.file).toBeUndefined();
  });

  it("outside a git checkout: bad input saying the version cannot be read", async () => {
    const p = await failure(locateVersion(plain, choice("pinned", "1.0.0", pin("1.0.0"))));
    expect(p.message).toBe(
      `TYPE in /apps/a.env line 3 pins gitea:1.0.0, but ${plain} is not a git repository, so that version cannot be read`,
    );
    expect(p.file).toBe("/apps/a.env");
    expect(p.hint).toMatch(/--chaos/);
    const r = await failure(locateVersion(plain, choice("ref", "1.0.0")));
    expect(r.message).toBe(`${plain} is not a git repository, so --ref 1.0.0 cannot be read`);
    expect(r.file).toBeUndefined();
    expect(r.hint).toMatch(/drop --ref/);
  });

  it("a repository with no tags says so", async () => {
    const bare = path.join(root, "untagged");
    mkdirSync(bare);
    git(bare, "init", "-q");
    writeFileSync(path.join(bare, "f"), "");
    git(bare, "add", ".");
    git(bare, "commit", "-qm", "x");
    const e = await failure(locateVersion(bare, choice("ref", "1.0.0")));
    expect(e.message).toBe(`--ref 1.0.0 names no commit in ${bare} (the repository has no tags)`);
  });
});

describe("reportedVersion and describeVersion", () => {
  const loc = (over: Partial<LocatedVersion>): LocatedVersion => ({
    source: "working-tree",
    version: undefined,
    pin: undefined,
    oid: null,
    head: null,
    ...over,
  });

  it.each([
    [loc({ source: "ref", version: "1.0.0", head: c2 }), "1.0.0"],
    [loc({ head: "0123456789abcdef" }), "01234567"],
    [loc({}), null],
  ])("reportedVersion %#", (l, want) => {
    expect(reportedVersion(l)).toBe(want);
  });

  it("pinned, --ref (with and without a pin), chaos", () => {
    expect(
      describeVersion("gitea", repo, loc({ source: "pinned", version: "1.0.0", pin: pin("1.0.0") })),
    ).toEqual({
      text: "recipe gitea version 1.0.0, pinned by TYPE in /apps/a.env line 3",
      notice: false,
    });
    expect(
      describeVersion("gitea", repo, loc({ source: "ref", version: "2.0.0", pin: pin("1.0.0") })).text,
    ).toBe(
      "recipe gitea version 2.0.0, from --ref; the app .env pins gitea:1.0.0 (TYPE in /apps/a.env line 3)",
    );
    expect(
      describeVersion("gitea", repo, loc({ source: "ref", version: "2.0.0", pin: pin(undefined) })).text,
    ).toBe("recipe gitea version 2.0.0, from --ref");
    expect(
      describeVersion("gitea", repo, loc({ source: "chaos", head: "0123456789abcdef", pin: pin("1.0.0") })),
    ).toEqual({
      text: "recipe gitea: the working tree as it is (--chaos) at commit 01234567; the pin gitea:1.0.0 (TYPE in /apps/a.env line 3) is not used",
      notice: false,
    });
    expect(describeVersion("gitea", repo, loc({ source: "chaos" })).text).toBe(
      "recipe gitea: the working tree as it is (--chaos)",
    );
  });

  it("the working tree: a notice in a checkout (naming the newest release), none outside one", () => {
    const d = describeVersion("gitea", repo, loc({ head: c2 }));
    expect(d.notice).toBe(true);
    expect(d.text).toBe(
      `recipe gitea: the app .env pins no version, so the working tree at commit ${c2.slice(0, 8)} is resolved as it is; ` +
        "abra app deploy would deploy the running version, else the newest release (2.0.0+1.22.0). " +
        "Pin the version as abra app new does (TYPE=gitea:VERSION), pass --ref VERSION, or --chaos when the working tree is what will be deployed.",
    );
    const named = describeVersion("x", repo, loc({ pin: pin(undefined) }));
    expect(named.text).toMatch(
      /^recipe x: the app \.env pins no version \(TYPE in \/apps\/a\.env line 3 names no version\), so the working tree is resolved/,
    );
    expect(named.text).toMatch(/\(TYPE=gitea:VERSION\)/);
    expect(describeVersion("gitea", plain, loc({}))).toEqual({
      text: `recipe gitea: the files in ${plain} (not a git checkout: no versions)`,
      notice: false,
    });
  });
});

describe("pinned commit ids, exactly", () => {
  beforeAll(() => {
    // Branch names that end or start in hex: a pin naming one is not a commit id.
    git(repo, "branch", "fix-c0ffee", c1);
  });

  it("a short commit id (8 digits) is read as the commit", async () => {
    const short = c1.slice(0, 8);
    expect((await locateVersion(repo, choice("pinned", short, pin(short)))).oid).toBe(c1);
  });

  it.each([
    ["a branch ending in hex digits", "fix-c0ffee"],
    ["a commit id followed by an expression", "C2~1"],
  ])("not all hex: %s is looked up as a tag only", async (_n, v) => {
    const version = v.replace("C2", c2.slice(0, 8));
    // git itself resolves it to a commit…
    expect(git(repo, "rev-parse", "--verify", `${version}^{commit}`)).toBe(c1);
    // …but a pin is a tag or a commit id, as abra reads it.
    const e = await failure(locateVersion(repo, choice("pinned", version, pin(version))));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(
      new RegExp(`^TYPE in /apps/a\\.env line 3 pins gitea:.*, but .* is not a tag in `),
    );
  });
});

describe("the exact errors and lines (the text a user reads)", () => {
  it("--ref outside a checkout, with a pin in the app .env: the --ref error, no file", async () => {
    const e = await failure(locateVersion(plain, choice("ref", "1.0.0", pin("2.0.0"))));
    expect(e).toBeInstanceOf(InputError);
    expect([e.kind, e.message, e.file]).toEqual([
      "git",
      `${plain} is not a git repository, so --ref 1.0.0 cannot be read`,
      undefined,
    ]);
    expect(e.hint).toBe(
      "Point --recipe at the recipe's git checkout, or drop --ref to read the working tree.",
    );
  });

  it("a pin outside a checkout: the hint", async () => {
    const e = await failure(locateVersion(plain, choice("pinned", "1.0.0", pin("1.0.0"))));
    expect(e.hint).toBe(
      "Point --recipe at the recipe's git checkout (e.g. ~/.abra/recipes/NAME), or pass --chaos to resolve the files as they are.",
    );
  });

  it("--ref naming nothing, and a pin that is not a tag: the hints", async () => {
    const r = await failure(locateVersion(repo, choice("ref", "7.7.7")));
    expect(r.hint).toBe(
      `List the recipe's versions with 'git -C ${repo} tag' (and 'git -C ${repo} fetch --tags' if the version is new).`,
    );
    const p = await failure(locateVersion(repo, choice("pinned", "7.7.7", pin("7.7.7"))));
    expect(p.hint).toBe(
      `If the version is new, fetch the recipe's tags ('git -C ${repo} fetch --tags'); otherwise correct the pin (TYPE in /apps/a.env line 3: TYPE=gitea:VERSION with VERSION one of the tags), or pass --ref VERSION.`,
    );
  });

  const wtLoc = (head: string): LocatedVersion => ({
    source: "working-tree",
    version: undefined,
    pin: undefined,
    oid: null,
    head,
  });
  const noNewest = (at: string) =>
    `recipe gitea: the app .env pins no version, so the working tree at commit ${at} is resolved as it is; ` +
    "abra app deploy would deploy the running version, else the newest release. " +
    "Pin the version as abra app new does (TYPE=gitea:VERSION), pass --ref VERSION, or --chaos when the working tree is what will be deployed.";

  it("the working tree of a checkout without tags: no newest release to name", () => {
    const untagged = path.join(root, "untagged-line");
    mkdirSync(untagged);
    git(untagged, "init", "-q");
    writeFileSync(path.join(untagged, "f"), "");
    git(untagged, "add", ".");
    git(untagged, "commit", "-qm", "x");
    const head = git(untagged, "rev-parse", "HEAD");
    expect(describeVersion("gitea", untagged, wtLoc(head))).toEqual({
      text: noNewest(head.slice(0, 8)),
      notice: true,
    });
  });

  it("the working tree of a checkout whose tags cannot be listed: no newest release to name", () => {
    const odd = path.join(root, "tags-unlistable");
    mkdirSync(odd);
    git(odd, "init", "-q");
    writeFileSync(path.join(odd, "f"), "");
    git(odd, "add", ".");
    git(odd, "commit", "-qm", "x");
    const head = git(odd, "rev-parse", "HEAD");
    rmSync(path.join(odd, ".git/refs/tags"), { recursive: true, force: true });
    writeFileSync(path.join(odd, ".git/refs/tags"), "not a directory\n");
    expect(listTags(gitDirs(odd)!)).toBeUndefined();
    expect(describeVersion("gitea", odd, wtLoc(head)).text).toBe(noNewest(head.slice(0, 8)));
  });

  it("--ref is no notice, with or without a pin", () => {
    const base = { version: "2.0.0", oid: null, head: null } as const;
    expect(describeVersion("gitea", repo, { ...base, source: "ref", pin: undefined })).toEqual({
      text: "recipe gitea version 2.0.0, from --ref",
      notice: false,
    });
    expect(describeVersion("gitea", repo, { ...base, source: "ref", pin: pin("1.0.0") }).notice).toBe(false);
  });
});
