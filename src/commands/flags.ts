// CLI flags are a boundary: each command turns parseArgs' loose values into a typed object with
// zod, and a bad flag becomes an InputError("usage") naming the flag and the fix.
import { z } from "zod";
import { InputError } from "../errors.js";
import type { FlagValues } from "./types.js";

export function parseFlags<T extends z.ZodType>(command: string, schema: T, values: FlagValues): z.output<T> {
  const r = schema.safeParse(values);
  if (r.success) return r.data;
  const msg = r.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ");
  throw new InputError("usage", `imagekeeper ${command}: ${msg}`, {
    hint: `See imagekeeper ${command} --help.`,
  });
}

export const intFlag = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** KEY=VALUE pairs from repeated --set flags. */
export const setFlags = z
  .array(z.string())
  .optional()
  .transform((list, ctx) => {
    const out: Record<string, string> = {};
    for (const kv of list ?? []) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(kv);
      if (!m) {
        ctx.addIssue({ code: "custom", message: `"${kv}" is not KEY=VALUE (KEY of letters, digits and _)` });
        return z.NEVER;
      }
      out[m[1]!] = m[2]!;
    }
    return out;
  });
