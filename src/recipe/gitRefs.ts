// Reading a recipe checkout's refs from the files git keeps them in, without running git: a warm
// prepull of a pinned version looks up its tag here and then answers from the resolution cache, so
// it spawns no process at all (docs/performance.md). Anything this reader does not understand for
// certain (a reftable repository, a ref name with "/", a malformed file) returns undefined and the
// caller asks git itself (src/recipe/gitRef.ts), so it can only cost speed, never correctness.
// Layout: https://git-scm.com/docs/gitrepository-layout (refs/, packed-refs, HEAD, commondir).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

export interface GitDirs {
  /** Where this checkout's HEAD lives (.git, or a worktree's directory under the main .git). */
  gitDir: string;
  /** Where refs are shared (the main .git for a linked worktree). */
  commonDir: string;
}

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** One path component that git accepts as a ref name and that cannot walk out of refs/. */
const SIMPLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_+-]*(?:\.[A-Za-z0-9_+-]+)*$/;

function read(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
    // Stryker disable next-line BlockStatement: an empty catch also returns undefined
  } catch {
    return undefined;
  }
}

/** The git directories of `dir` when `dir` itself is the top of a checkout (has a .git entry). */
export function gitDirs(dir: string): GitDirs | undefined {
  const dotGit = path.join(dir, ".git");
  const st = statSync(dotGit, { throwIfNoEntry: false });
  if (!st) return undefined;
  let gitDir = dotGit;
  if (st.isFile()) {
    // A linked worktree or a submodule: ".git" is a file "gitdir: PATH".
    // Stryker disable next-line StringLiteral: any text without a gitdir line is as unreadable as none
    const text = read(dotGit) ?? "";
    // Read as git reads it (setup.c, read_gitfile_gently): the file starts with "gitdir: ", and
    // only trailing CR/LF are stripped — spaces belong to the path. (.+) stops before "\r" or
    // "\n" (a JS "." matches neither), so it strips them too.
    const m = /^gitdir: (.+)/.exec(text);
    if (!m) return undefined;
    gitDir = path.resolve(dir, m[1]!);
  }
  const common = read(path.join(gitDir, "commondir"))?.trim();
  const commonDir = common ? path.resolve(gitDir, common) : gitDir;
  // A reftable repository keeps refs in a binary format: leave it to git.
  if (statSync(path.join(commonDir, "reftable"), { throwIfNoEntry: false })) return undefined;
  return { gitDir, commonDir };
}

/** Is `dir` the top of a git checkout? (A cheap check: no process.) */
export function isCheckout(dir: string): boolean {
  return statSync(path.join(dir, ".git"), { throwIfNoEntry: false }) !== undefined;
}

function packedRefs(commonDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const file = read(path.join(commonDir, "packed-refs"));
  // Stryker disable next-line StringLiteral: any text without a ref line lists as nothing, as no file does
  const text = file ?? "";
  for (const line of text.split("\n")) {
    // "OID refname"; "^OID" peels the line above; "#" starts the header.
    const m = /^([0-9a-f]+) (\S+)$/.exec(line);
    if (m && OID.test(m[1]!)) out.set(m[2]!, m[1]!);
  }
  return out;
}

/** The object a fully qualified ref (refs/tags/X, refs/heads/X) points at, unpeeled. */
export function readRef(dirs: GitDirs, refname: string): string | undefined {
  // A loose ref wins over packed-refs, as in git.
  const loose = read(path.join(dirs.commonDir, refname));
  if (loose !== undefined) {
    const oid = loose.trim();
    return OID.test(oid) ? oid : undefined;
  }
  return packedRefs(dirs.commonDir).get(refname);
}

/**
 * What `git rev-parse NAME` answers for a plain tag or branch name, unpeeled: refs/tags/NAME, then
 * refs/heads/NAME (git's order, gitrevisions(7)). Undefined when unsure: the caller asks git.
 */
export function readNamedRef(dirs: GitDirs, name: string): string | undefined {
  // Upper-case names may be pseudo-refs in .git itself (HEAD, FETCH_HEAD), which git checks first.
  if (!simpleName(name) || /^[A-Z_]+$/.test(name)) return undefined;
  return readRef(dirs, `refs/tags/${name}`) ?? readRef(dirs, `refs/heads/${name}`);
}

/** The object refs/tags/NAME points at, unpeeled; undefined when absent or NAME is unusual. */
export function readTag(dirs: GitDirs, name: string): string | undefined {
  return simpleName(name) ? readRef(dirs, `refs/tags/${name}`) : undefined;
}

function simpleName(name: string): boolean {
  return SIMPLE_NAME.test(name) && !name.endsWith(".lock");
}

/** The commit HEAD points at (through one symbolic ref), or undefined. */
export function headCommit(dirs: GitDirs): string | undefined {
  const head = read(path.join(dirs.gitDir, "HEAD"))?.trim();
  if (!head) return undefined;
  if (OID.test(head)) return head;
  const m = /^ref: (refs\/\S+)$/.exec(head);
  return m ? readRef(dirs, m[1]!) : undefined;
}

/** Every tag name (loose and packed), or undefined when they cannot be listed for certain. */
export function listTags(dirs: GitDirs): string[] | undefined {
  const names = new Set<string>();
  for (const ref of packedRefs(dirs.commonDir).keys())
    if (ref.startsWith("refs/tags/")) names.add(ref.slice("refs/tags/".length));
  const walk = (rel: string): boolean => {
    let entries;
    try {
      entries = readdirSync(path.join(dirs.commonDir, "refs/tags", rel), { withFileTypes: true });
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ENOENT";
    }
    for (const e of entries) {
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!walk(name)) return false;
      } else names.add(name);
    }
    return true;
  };
  return walk("") ? [...names] : undefined;
}
