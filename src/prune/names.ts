// Image names as prune sees them: the `repository:tag` names `docker images` shows (what
// `prune.keep` patterns match), matching swarm service specs and ledger references to local images,
// and the arguments that remove an image without --force. Pure.
import { parseReference } from "../model/reference.js";

/** `docker images` prints untagged images of a repository as REPOSITORY=repo, TAG=<none>. */
export const NONE = "<none>";

/** Repository of "repo:tag" (the tag follows the last ':' after the last '/'; a port does not count). */
export function repoOfTag(tag: string): string {
  const slash = tag.lastIndexOf("/");
  const colon = tag.lastIndexOf(":");
  return colon > slash ? tag.slice(0, colon) : tag;
}

/** Repository of "repo@sha256:…". */
export function repoOfDigestRef(ref: string): string {
  const at = ref.indexOf("@");
  // Stryker disable next-line EqualityOperator: a digest reference never starts with "@"
  return at < 0 ? ref : ref.slice(0, at);
}

/**
 * The names `docker images` shows for an image: each `repo:tag`, then `repo:<none>` for a
 * repository known only by digest (how swarm's digest-pinned pulls look, moby#31574), and
 * `<none>:<none>` for an image with no reference at all.
 */
export function displayNames(repoTags: readonly string[], repoDigests: readonly string[]): string[] {
  const names = [...repoTags];
  const tagged = new Set(repoTags.map(repoOfTag));
  for (const d of repoDigests) {
    const repo = repoOfDigestRef(d);
    const n = `${repo}:${NONE}`;
    if (!tagged.has(repo) && !names.includes(n)) names.push(n);
  }
  return names.length ? names : [`${NONE}:${NONE}`];
}

// Glob match for `prune.keep`: `*` matches any run of characters, `/` and `:` included (so
// `*/postgres:*` matches `127.0.0.1:5000/db/postgres:16`), `?` one character; the whole name
// must match.
export function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
    // Stryker disable next-line StringLiteral: image names never contain a line break
    "s",
  );
  return re.test(name);
}

interface Parsed {
  repo: string;
  tag: string | undefined;
  digest: string | undefined;
}

/** A reference in the familiar form the daemon reports (`nginx`, `127.0.0.1:5000/x/y`). */
function parse(ref: string): Parsed | undefined {
  const r = parseReference(ref);
  if (!r.ok) return undefined;
  const repo =
    r.ref.domain === "docker.io" ? r.ref.path.replace(/^library\//, "") : `${r.ref.domain}/${r.ref.path}`;
  return { repo, tag: r.ref.tag, digest: r.ref.digest };
}

/**
 * The key under which a reference finds a local image: `repo@digest` for a digest reference (the
 * daemon lists it in RepoDigests), else `repo:tag` (RepoTags), with Docker Hub names shortened as
 * the daemon shortens them. Unparsable references stay as written.
 */
export function referenceKey(ref: string): string {
  const p = parse(ref);
  if (!p) return ref;
  return p.digest ? `${p.repo}@${p.digest}` : `${p.repo}:${p.tag ?? "latest"}`;
}

export interface ImageRefs {
  id: string;
  repoTags: readonly string[];
  repoDigests: readonly string[];
}

/**
 * Does a service spec's image (`127.0.0.1:5000/x/y:1.0@sha256:…`, `nginx:1.25`, an image ID) name
 * this local image? A digest names content: it matches a RepoDigest with that digest (in any
 * repository: the same manifest digest is the same image) or the image ID; the tag beside a digest
 * is ignored, as the daemon ignores it. Without a digest the tag must match.
 */
export function specNamesImage(spec: string, img: ImageRefs): boolean {
  if (/^sha256:[0-9a-f]{64}$/.test(spec)) return img.id === spec;
  const p = parse(spec);
  if (!p) return img.repoTags.includes(spec) || img.repoDigests.includes(spec);
  if (p.digest) return img.id === p.digest || img.repoDigests.some((d) => d.endsWith(`@${p.digest}`));
  return img.repoTags.includes(`${p.repo}:${p.tag ?? "latest"}`);
}

/**
 * moby's isSingleReference: at most one tag, and every reference in that tag's repository. Only
 * then does `docker image rm ID` (without --force) remove the image with all its references;
 * otherwise the daemon refuses ("referenced in multiple repositories").
 */
export function isSingleReference(repoTags: readonly string[], repoDigests: readonly string[]): boolean {
  const n = repoTags.length + repoDigests.length;
  if (n <= 1) return n === 1;
  if (repoTags.length > 1) return false;
  const digestRepos = new Set(repoDigests.map(repoOfDigestRef));
  const single = repoTags[0] !== undefined ? repoOfTag(repoTags[0]) : repoOfDigestRef(repoDigests[0]!);
  return digestRepos.size === 1 && digestRepos.has(single);
}

/**
 * What `docker image rm` is given to remove this image, never with --force. By ID when the daemon
 * removes it that way in one step: it then refuses the whole removal if any container uses the image.
 * Otherwise each tag, then the digest references of repositories without a tag (removing a tag
 * also drops its repository's digest references); the last reference removed deletes the image.
 */
export function removalArgs(img: ImageRefs): string[] {
  if (
    (img.repoTags.length === 0 && img.repoDigests.length === 0) ||
    isSingleReference(img.repoTags, img.repoDigests)
  )
    return [img.id];
  const tagged = new Set(img.repoTags.map(repoOfTag));
  return [...img.repoTags, ...img.repoDigests.filter((d) => !tagged.has(repoOfDigestRef(d)))];
}
