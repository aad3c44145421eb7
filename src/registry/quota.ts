// A registry's pull quota, from the headers Docker Hub puts on manifest answers (HEAD included,
// which itself costs nothing): `ratelimit-limit: 100;w=21600`, `ratelimit-remaining: 76;w=21600`
// (pulls per window of w seconds, a rolling window) and `docker-ratelimit-source` (the IP or
// account the pulls count against). Authenticated accounts without a limit get no such headers.
// `ratelimit-reset` (seconds until the quota is whole again) is read when a registry sends it, as
// the IETF RateLimit header draft describes; Docker Hub does not. Pure, table-tested.
// https://docs.docker.com/docker-hub/usage/pulls/#view-pull-rate-and-limit
// https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/

export interface QuotaHeaders {
  limit: number;
  remaining: number;
  /** The window in seconds (`w=`), when given. */
  windowSeconds: number | undefined;
  /** Seconds until the window resets, when the registry says (`ratelimit-reset`). */
  resetSeconds: number | undefined;
  /** What the pulls count against (`docker-ratelimit-source`): an IP address or an account id. */
  source: string | undefined;
}

export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

function header(h: HeaderBag, name: string): string | undefined {
  const v = h[name] ?? h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** `100;w=21600` → {value: 100, window: 21600}; `100` → {value: 100}; anything else → undefined. */
export function parseQuotaValue(
  text: string | undefined,
): { value: number; window: number | undefined } | undefined {
  if (text === undefined) return undefined;
  const [first, ...params] = text.split(";").map((s) => s.trim());
  if (first === undefined || !/^\d{1,12}$/.test(first)) return undefined;
  let window: number | undefined;
  for (const p of params) {
    const m = /^w\s*=\s*(\d{1,12})$/i.exec(p);
    if (m) window = Number(m[1]);
    else if (/^w\s*=/i.test(p)) return undefined; // a malformed window: trust none of it
  }
  return { value: Number(first), window };
}

/** The quota a manifest answer carries, or undefined when it carries none (or only garbage). */
export function parseQuotaHeaders(h: HeaderBag): QuotaHeaders | undefined {
  const limit = parseQuotaValue(header(h, "ratelimit-limit"));
  const remaining = parseQuotaValue(header(h, "ratelimit-remaining"));
  if (!limit || !remaining) return undefined;
  if (remaining.value > limit.value) return undefined;
  const reset = header(h, "ratelimit-reset");
  const resetSeconds = reset !== undefined && /^\s*\d{1,12}\s*$/.test(reset) ? Number(reset) : undefined;
  const source = header(h, "docker-ratelimit-source")?.trim() || undefined;
  return {
    limit: limit.value,
    remaining: remaining.value,
    windowSeconds: remaining.window ?? limit.window,
    resetSeconds,
    source,
  };
}
