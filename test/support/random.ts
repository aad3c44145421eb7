// Seeded randomness for the randomized tests: every run prints its seed, and the same seed replays
// the same schedule.

/** mulberry32: small, seedable, good enough to vary a schedule. Returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from `envVar` when set (to replay a failure), else a fresh one. */
export function seedFrom(envVar: string): number {
  const given = process.env[envVar];
  return given !== undefined && given !== "" ? Number(given) : Math.floor(Math.random() * 2 ** 31);
}
