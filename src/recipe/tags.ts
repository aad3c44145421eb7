// Recipe release tags: their order, and the ones nearest to a version that is not a tag (what the
// "pinned version is not a tag" error lists). Co-op Cloud tags a release `RECIPE+UPSTREAM`
// (`1.0.0+1.0.5-social-amd64`, `3.1.0+1.22.1-rootless`): numbers compare as numbers, the rest as text.

/** Natural order: runs of digits compare numerically, everything else by code point. */
export function compareVersions(a: string, b: string): number {
  const ta = a.match(/\d+|\D+/g) ?? [];
  const tb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === y) continue;
    // Stryker disable next-line Regex: a token is all digits or has none, so "^" changes nothing
    const nx = /^\d/.test(x);
    // Stryker disable next-line Regex: as above
    const ny = /^\d/.test(y);
    if (nx && ny) {
      // Compare without Number(): a 30-digit run must not lose precision. Leading zeros aside,
      // a longer run is a bigger number.
      const sx = x.replace(/^0+(?=\d)/, "");
      const sy = y.replace(/^0+(?=\d)/, "");
      if (sx.length !== sy.length) return sx.length - sy.length;
      if (sx !== sy)
        // Stryker disable next-line EqualityOperator: sx !== sy here, so < and <= agree
        return sx < sy ? -1 : 1;
      continue;
    }
    // Stryker disable next-line EqualityOperator: x !== y here (equal tokens continue), so < and <= agree
    return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}

/** Levenshtein distance (insert, delete, substitute: each costs 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The tags worth suggesting for a version that is not a tag, in version order: the closest few by
 * spelling (a typo, a wrong upstream suffix) and the releases just below and just above it (a tag
 * not fetched yet, an old pin). At most `closest` + 2 tags.
 */
export function nearestTags(version: string, tags: readonly string[], closest = 3): string[] {
  const sorted = [...new Set(tags)].sort(compareVersions);
  const below = sorted.filter((t) => compareVersions(t, version) < 0).at(-1);
  const above = sorted.find((t) => compareVersions(t, version) > 0);
  const bySpelling = [...sorted]
    .map((t) => ({ t, d: editDistance(version, t) }))
    // Stable sort: equal distances keep version order.
    .sort((x, y) => x.d - y.d)
    .slice(0, closest)
    .map((x) => x.t);
  const pick = new Set([
    ...bySpelling,
    ...(below
      ? [below]
      : // Stryker disable next-line ArrayDeclaration: pick only filters the tags; a placeholder matches none
        []),
    ...(above
      ? [above]
      : // Stryker disable next-line ArrayDeclaration: as above
        []),
  ]);
  return sorted.filter((t) => pick.has(t));
}

/**
 * The newest release tag by version order, if any. Only tags that start with a version number
 * (`1.2.0+…`, `v1.2`) are releases: abra skips tags it cannot parse as a version, and a tag such
 * as `broken` or `test` would otherwise sort after every number.
 */
export function newestTag(tags: readonly string[]): string | undefined {
  return tags
    .filter((t) => /^v?\d/.test(t))
    .sort(compareVersions)
    .at(-1);
}
