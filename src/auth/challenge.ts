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
    // Stryker disable next-line ConditionalExpression,EqualityOperator: at the end of the header PARAM.exec finds no name and returns null, which ends the loop as well
    if (PARAM.lastIndex >= header.length) break;
    const start = PARAM.lastIndex;
    const p = PARAM.exec(header);
    // Stryker disable next-line ConditionalExpression: a PARAM match is at least `x=` long, so lastIndex never stays at start (the test only guards the loop)
    if (!p || PARAM.lastIndex === start) break;
    const quoted = p[2];
    // Stryker disable next-line StringLiteral: when the quoted branch did not match, the unquoted one did (maybe empty): p[3] is never undefined here
    const unquoted = p[3] ?? "";
    params[p[1]!.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : unquoted;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}
