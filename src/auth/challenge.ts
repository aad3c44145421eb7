// Parsing a registry's `WWW-Authenticate` challenge (RFC 7235 auth-params), as the distribution
// spec's token flow needs it: `Bearer realm="https://auth.example/token",service="registry"` or
// `Basic realm="registry"`. Pure, table-tested.
// Spec: https://distribution.github.io/distribution/spec/auth/token/

export interface Challenge {
  /** Lower-cased: "bearer", "basic", … */
  scheme: string;
  params: Record<string, string>;
}

const PARAM = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/y;

/** The first challenge in the header (registries send one), or undefined if it cannot be read. */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  PARAM.lastIndex = m[0].length;
  for (;;) {
    if (PARAM.lastIndex >= header.length) break;
    const start = PARAM.lastIndex;
    const p = PARAM.exec(header);
    if (!p || PARAM.lastIndex === start) break;
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
  }
  return { scheme: m[1]!.toLowerCase(), params };
}
