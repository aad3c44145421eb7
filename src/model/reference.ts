// Image references, parsed by the grammar of distribution/reference (the library the docker client
// uses): [domain[:port]/]path[:tag][@digest]. Parsing here lets a reference that docker would reject
// ("invalid reference format", usually an empty ${VAR}) fail as bad input before anything is pulled,
// and tells the pull policy whether a reference is pinned (digest or fixed tag) or mutable.
// Grammar: https://github.com/distribution/reference/blob/main/reference.go

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(
  `^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);

export interface ImageRef {
  /** As written in the compose file (after interpolation). */
  raw: string;
  /** Registry host, "docker.io" for Docker Hub names. */
  domain: string;
  /** Repository path inside the registry ("library/nginx" for "nginx"). */
  path: string;
  tag: string | undefined;
  digest: string | undefined;
  /** Canonical form: docker.io/library/nginx:1.25 (tag "latest" filled in when neither is given). */
  canonical: string;
  /** The short form docker prints (`docker images`): nginx:1.25, 127.0.0.1:5000/x/y:1. */
  familiar: string;
}

export type ParseResult = { ok: true; ref: ImageRef } | { ok: false; reason: string };

function splitDomain(name: string): { domain: string; path: string } {
  const i = name.indexOf("/");
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: a matched name never starts with "/" (i is never 0), and with no "/" a first component "" passes the Docker Hub test anyway
  const first = i < 0 ? "" : name.slice(0, i);
  // A first component is a domain when it has a dot or a port, or is "localhost" (reference.go's
  // splitDockerDomain); otherwise the name is on Docker Hub.
  if (
    // Stryker disable next-line ConditionalExpression,EqualityOperator: as above, i is never 0, and with no "/" the Docker Hub test passes anyway
    i < 0 ||
    (!first.includes(".") && !first.includes(":") && first !== "localhost" && first.toLowerCase() === first)
  ) {
    // Stryker disable next-line EqualityOperator: i is never 0 (a matched name never starts with "/")
    const path = i < 0 ? `library/${name}` : name;
    return { domain: "docker.io", path };
  }
  const domain = first === "index.docker.io" ? "docker.io" : first;
  let path = name.slice(i + 1);
  if (domain === "docker.io" && !path.includes("/")) path = `library/${path}`;
  return { domain, path };
}

export function parseReference(raw: string): ParseResult {
  const text = raw.trim();
  if (text === "") return { ok: false, reason: "the image reference is empty (an unset variable?)" };
  if (text !== raw) return { ok: false, reason: "the image reference has surrounding whitespace" };
  const m = REFERENCE.exec(text);
  if (!m) {
    const why = /\$\{?[A-Za-z_]/.test(text)
      ? "it still contains a variable reference"
      : /:$|@$/.test(text)
        ? "it ends with ':' or '@' (an empty tag or digest: an unset variable?)"
        : // Stryker disable next-line StringLiteral: split always returns at least one element
          /[A-Z]/.test(text.split("/").slice(-1)[0] ?? "")
          ? "repository names must be lower-case"
          : "it does not match [registry/]name[:tag][@digest]";
    return { ok: false, reason: `"${raw}" is not a valid image reference: ${why}` };
  }
  const name = m[1]!;
  if (name.length > 255)
    return {
      ok: false,
      reason: `"${raw}" is not a valid image reference: the name is longer than 255 characters`,
    };
  const { domain, path } = splitDomain(name);
  const tag = m[2];
  const digest = m[3];
  const canonical = `${domain}/${path}${tag ? `:${tag}` : digest ? "" : ":latest"}${digest ? `@${digest}` : ""}`;
  const shortName = domain === "docker.io" ? path.replace(/^library\//, "") : `${domain}/${path}`;
  const familiar = `${shortName}${tag ? `:${tag}` : digest ? "" : ":latest"}${digest ? `@${digest}` : ""}`;
  return { ok: true, ref: { raw, domain, path, tag, digest, canonical, familiar } };
}

/** How a reference behaves over time: digests never change, tags may be moved by their owner. */
export function pinKind(
  ref: ImageRef,
  mutableTags: readonly string[],
): "digest" | "mutable-tag" | "pinned-tag" {
  if (ref.digest) return "digest";
  const tag = ref.tag ?? "latest";
  return mutableTags.includes(tag) ? "mutable-tag" : "pinned-tag";
}
