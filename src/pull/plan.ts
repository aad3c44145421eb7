// Where pulling is decided. Pure: from the resolved images, what the local store holds and what the
// registry answered, decide for each image whether to pull and why. The executor carries the plan
// out; --dry-run prints it.
//
// Policy `auto` is digest-true: `docker stack deploy` (abra deploys with resolve-image "always")
// asks the registry for each tag's current digest and pins the service to `name:tag@digest`; the
// node then pulls that digest unless its store holds it (swarm looks the image up by digest, not by
// tag). So an image is present when the store holds the digest the registry names now, and a tag
// moved upstream is pulled here, before the deploy, rather than by swarm during convergence.
import type { ServiceImage } from "../recipe/resolve.js";
import { type ImageRef, parseReference } from "../model/reference.js";
import type { ErrorClass } from "./report.js";

export type PullPolicy = "auto" | "missing" | "always";

export interface WantedImage {
  ref: string;
  parsed: ImageRef;
  service: string;
  file: string;
  alsoUsedBy: { service: string; file: string }[];
}

/** An image in the local store, as the Engine API describes it. */
export interface LocalImage {
  id: string;
  /** `repo@sha256:…`: the manifest digests it was pulled by, per repository. */
  repoDigests: readonly string[];
}

export interface LocalFacts {
  /** What the reference names in the store now (by tag; by digest for a digest reference). */
  byRef: LocalImage | undefined;
  /**
   * The image holding the registry's current digest, when looked up because `byRef` lacks it: the
   * tag may still name an older image while the new digest is already here (swarm pulled it).
   */
  byDigest?: LocalImage | undefined;
}

/** What the registry said about a tag: its current digest, or why it could not say. */
export type RegistryFact =
  | { digest: string; endpoint: string }
  | { error: string; errorClass: ErrorClass; endpoint: string | undefined };

export interface PlannedImage extends WantedImage {
  action: "skip" | "pull";
  reason: string;
  /** Image ID already in the store that the deploy would use, if any. */
  presentId: string | undefined;
  /** The digest the deploy will pin: the registry's answer, or the reference's own digest. */
  digest: string | undefined;
  /** Something the operator should know about an image used as it is (an unreachable registry). */
  warning: string | undefined;
}

/** One entry per distinct image (nginx:1.25 and docker.io/library/nginx:1.25 are one), sorted by ref. */
export function dedupeImages(services: readonly ServiceImage[]): WantedImage[] {
  const byCanonical = new Map<string, WantedImage>();
  for (const s of services) {
    const p = parseReference(s.ref);
    if (!p.ok) throw new Error(`unparsed reference reached the planner: ${s.ref}`); // resolve validates first
    const seen = byCanonical.get(p.ref.canonical);
    if (seen) seen.alsoUsedBy.push({ service: s.service, file: s.file });
    else
      byCanonical.set(p.ref.canonical, {
        ref: s.ref,
        parsed: p.ref,
        service: s.service,
        file: s.file,
        alsoUsedBy: [],
      });
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: refs are distinct after dedupe; V8's sort only asks "is a before b" (< 0)
  return [...byCanonical.values()].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/** `domain/path` of a reference, the key RepoDigests are compared on. */
const repoKey = (r: Pick<ImageRef, "domain" | "path">) => `${r.domain}/${r.path}`;

/** The digest `img` was pulled by from `ref`'s repository, if any. */
export function localDigest(img: LocalImage, ref: ImageRef): string | undefined {
  for (const rd of img.repoDigests) {
    const p = parseReference(rd);
    if (p.ok && p.ref.digest && repoKey(p.ref) === repoKey(ref)) return p.ref.digest;
  }
  return undefined;
}

/** Whether `img` holds `digest` of `ref`'s repository (what swarm's lookup of name@digest finds). */
export function holdsDigest(img: LocalImage | undefined, ref: ImageRef, digest: string): boolean {
  if (!img) return false;
  return img.repoDigests.some((rd) => {
    const p = parseReference(rd);
    return p.ok && p.ref.digest === digest && repoKey(p.ref) === repoKey(ref);
  });
}

const short = (d: string) => (d.startsWith("sha256:") ? `sha256:${d.slice(7, 19)}` : d);

export function planPulls(
  images: readonly WantedImage[],
  local: ReadonlyMap<string, LocalFacts>,
  registry: ReadonlyMap<string, RegistryFact>,
  policy: PullPolicy,
): PlannedImage[] {
  return images.map((img): PlannedImage => {
    const facts = local.get(img.ref) ?? { byRef: undefined };
    const here = facts.byRef;
    const fact = registry.get(img.ref);
    const plan = (
      action: "skip" | "pull",
      reason: string,
      o: { presentId?: string | undefined; digest?: string | undefined; warning?: string } = {},
    ): PlannedImage => ({
      ...img,
      action,
      reason,
      presentId: o.presentId ?? (action === "skip" ? here?.id : undefined),
      digest: o.digest,
      warning: o.warning,
    });
    const known = fact && "digest" in fact ? fact.digest : img.parsed.digest;

    if (policy === "always") return plan("pull", "policy always", { digest: known });
    if (policy === "missing")
      return here
        ? plan("skip", "present (policy missing)", { digest: img.parsed.digest ?? undefined })
        : plan("pull", "missing");

    // auto
    if (img.parsed.digest)
      return here
        ? plan("skip", "digest present", { digest: img.parsed.digest })
        : plan("pull", "missing", { digest: img.parsed.digest });
    if (!fact || "error" in fact) {
      const why = fact ? fact.error : "the registry was not asked";
      // The deploy cannot pin a digest either; swarm then uses the image the node has.
      if (here)
        return plan("skip", "present; the registry could not be asked", {
          digest: localDigest(here, img.parsed),
          warning: `could not ask the registry for the current digest (${why}): using the local image, as the deploy will`,
        });
      return plan("pull", `missing (the registry could not be asked: ${why})`);
    }
    const d = fact.digest;
    if (holdsDigest(here, img.parsed, d))
      return plan("skip", "present: the registry's digest", { digest: d });
    if (facts.byDigest && holdsDigest(facts.byDigest, img.parsed, d))
      return plan("skip", "present: the registry's digest (the local tag names an older image)", {
        digest: d,
        presentId: facts.byDigest.id,
      });
    if (here) {
      const had = localDigest(here, img.parsed);
      return plan(
        "pull",
        had
          ? `tag moved: the registry has ${short(d)}, the store ${short(had)}`
          : `the registry's digest ${short(d)} is not in the store (the local image has no digest from this repository)`,
        { digest: d },
      );
    }
    return plan("pull", "missing", { digest: d });
  });
}
