import { z } from "zod";

// Sizes as people write them in config and flags, as nix.conf's min-free/max-free and systemd
// read them: "10GiB", "512MiB", "1.5G", "40GB", "123" (bytes). Binary units (KiB, MiB, GiB, TiB)
// and their one-letter forms (K, M, G, T, as nix and systemd use them) are powers of 1024; the
// SI units (kB, MB, GB, TB) are powers of 1000, as disk vendors and `df -H` use them.
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/** Bytes, or undefined when the text is not a size. Fractions round down to whole bytes. */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const mult = unit === "" ? 1 : UNIT_BYTES[unit];
  if (mult === undefined) return undefined;
  return Math.floor(Number(m[1]) * mult);
}

/** Bytes as a size text that parses back to the same number: the largest binary unit that divides it. */
export function sizeText(bytes: number): string {
  for (const [unit, mult] of [
    ["TiB", 1024 ** 4],
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const)
    if (bytes >= mult && bytes % mult === 0) return `${bytes / mult}${unit}`;
  return String(bytes);
}

/**
 * zod type for a size field: accepts the text form (or a whole number of bytes) and yields bytes.
 * A codec, so `config check` prints it back as text that parses to the same bytes.
 */
export const sizeBytes = z.codec(z.union([z.number().int().nonnegative(), z.string()]), z.number(), {
  decode: (s, ctx) => {
    if (typeof s === "number") return s;
    const n = parseSize(s);
    if (n === undefined) {
      ctx.issues.push({
        code: "custom",
        message: `"${s}" is not a size; write e.g. "10GiB", "512MiB" or a number of bytes`,
        input: s,
      });
      return z.NEVER;
    }
    return n;
  },
  encode: (bytes) => sizeText(bytes),
});
