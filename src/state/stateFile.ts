// Reading imagekeeper's small JSON state files (ledger, last prune, metrics counters). State is
// never worth failing a command over: a missing file is the empty state, and an unreadable or
// damaged one is the empty state plus a `problem` the caller reports (and then rebuilds).
import { readFileSync } from "node:fs";
import type { z } from "zod";

export interface StateRead<T> {
  value: T;
  /** Set when the file exists but could not be used. */
  problem?: string;
}

export function readStateFile<S extends z.ZodType>(
  file: string,
  schema: S,
  empty: () => z.output<S>,
): StateRead<z.output<S>> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { value: empty() };
    return { value: empty(), problem: `cannot read ${file}: ${(e as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { value: empty(), problem: `${file} is not valid JSON (${(e as Error).message})` };
  }
  const r = schema.safeParse(json);
  if (!r.success)
    return { value: empty(), problem: `${file} does not match its schema: ${r.error.issues[0]?.message}` };
  return { value: r.data };
}
