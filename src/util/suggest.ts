// "Did you mean …?" for unknown commands and options: the candidates closest to what was typed,
// by edit distance counting a swap of two neighbours as one edit (optimal string alignment: a
// typo such as "purne" is one edit from "prune"), plus candidates the input is a prefix of.

export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Up to `max` candidates worth suggesting for `input`, best first: within max(1, ⌊length/3⌋)
 * edits (so short words need a near-exact match), or starting with `input` when it has at least
 * three characters. Case-insensitive.
 */
export function suggest(input: string, candidates: readonly string[], max = 3): string[] {
  const x = input.toLowerCase();
  if (x === "") return [];
  const limit = Math.max(1, Math.floor(x.length / 3));
  return [...new Set(candidates)]
    .map((c) => {
      const dist = editDistance(x, c.toLowerCase());
      const prefix = x.length >= 3 && c.toLowerCase().startsWith(x);
      return { c, score: dist <= limit ? dist : prefix ? limit + 0.5 : Number.POSITIVE_INFINITY };
    })
    .filter((s) => s.score !== Number.POSITIVE_INFINITY && s.c.toLowerCase() !== x)
    .sort((p, q) => p.score - q.score || p.c.localeCompare(q.c))
    .slice(0, max)
    .map((s) => s.c);
}

/** `Did you mean "prune"?` / `Did you mean "a" or "b"?`, or "" when there is nothing close. */
export function didYouMean(options: readonly string[]): string {
  if (options.length === 0) return "";
  const q = options.map((o) => `"${o}"`);
  return ` Did you mean ${q.length === 1 ? q[0] : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`}?`;
}
