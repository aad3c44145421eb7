// The requests the registry client makes, built without sending them (pure, table-tested): the
// ping that finds a registry's scheme and challenge, the manifest HEAD the docker daemon makes to
// resolve a tag (same Accept types, so the registry answers with the same manifest and digest), and
// the wording of a failed answer, which follows the daemon's so the classifier reads both alike.
import { MANIFEST_ACCEPT } from "./accept.js";
import type { Scheme } from "./endpoints.js";

export function pingUrl(scheme: Scheme, host: string): URL {
  return new URL(`${scheme}://${host}/v2/`);
}

export function manifestUrl(scheme: Scheme, host: string, repository: string, reference: string): URL {
  return new URL(`${scheme}://${host}/v2/${repository}/manifests/${reference}`);
}

export function manifestHeaders(authorization: string | undefined): Record<string, string> {
  return { Accept: MANIFEST_ACCEPT, ...(authorization ? { Authorization: authorization } : {}) };
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export const statusLine = (status: number): string =>
  `${status} ${STATUS_TEXT[status] ?? "Unexpected Status"}`;

/** A manifest answer that gave no digest, in words the classifier (src/pull/classify.ts) knows. */
export function manifestFailure(
  url: URL,
  status: number,
  repository: string,
  reference: string,
  quotaRemaining?: { remaining: number; limit: number },
): string {
  const where = `HEAD ${url.origin}${url.pathname}: ${statusLine(status)}`;
  if (status === 401) return `unauthorized: authentication required (${where})`;
  if (status === 403) return `denied: requested access to the resource is denied (${where})`;
  if (status === 404) return `manifest unknown: ${repository}:${reference} not found (${where})`;
  if (status === 429)
    return quotaRemaining && quotaRemaining.remaining === 0
      ? `toomanyrequests: you have reached your pull rate limit: 0 of ${quotaRemaining.limit} pulls remain (${where})`
      : `toomanyrequests: too many requests (${where})`;
  return `unexpected status from HEAD request to ${url.origin}${url.pathname}: ${statusLine(status)}`;
}

/** A digest as the distribution spec writes it (algorithm:hex), or undefined. */
export function validDigest(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(s.trim()) ? s.trim() : undefined;
}
