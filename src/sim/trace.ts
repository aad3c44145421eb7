// A CI trace: what `imagekeeper simulate` replays. JSON Lines, one run a line, in time order:
//   {"t": 1767232800000, "run": "n1-gitea", "app": "gitea.ci.example", "recipe": "gitea",
//    "kind": "nightly", "durationS": 600,
//    "images": [{"ref": "gitea/gitea:1.22.1", "id": "sha256:…", "sizeBytes": 123456789}]}
// `t` is when the run arrives (its prepull starts), `durationS` how long its run lease lasts.
// Optional per image: `role` (the prepull role it was needed for, default "deploy"; an upgrade test
// needs the old version for "deploy" and the new one for "upgrade") and `created` (build time,
// epoch ms: what `docker system prune --filter until=` compares). docs/simulate.md.
import { z } from "zod";
import { InputError } from "../errors.js";

const ms = z.number().int().nonnegative();

export const traceImageSchema = z.strictObject({
  ref: z.string().min(1),
  id: z.string().min(1),
  sizeBytes: z.number().int().nonnegative(),
  role: z.string().min(1).optional(),
  created: ms.optional(),
});
export type TraceImage = z.output<typeof traceImageSchema>;

export const traceRunSchema = z.strictObject({
  t: ms,
  run: z.string().min(1),
  app: z.string().min(1),
  recipe: z.string().min(1),
  kind: z.string().min(1),
  durationS: z.number().nonnegative(),
  images: z.array(traceImageSchema),
});
export type TraceRun = z.output<typeof traceRunSchema>;

const HINT =
  'Each line must be one JSON object: {"t": EPOCH_MS, "run", "app", "recipe", "kind", "durationS", "images": [{"ref", "id", "sizeBytes"}]}, lines in time order (docs/simulate.md).';

function bad(file: string, line: number, what: string): InputError {
  return new InputError("usage", `${file}:${line}: ${what}`, { file, hint: HINT });
}

/**
 * Parse a trace; blank lines and lines starting with `#` are skipped. Bad input (not JSON, a field
 * missing or mistyped, time going backwards, one image ID with two sizes) is an InputError naming
 * the file and line.
 */
export function parseTrace(text: string, file: string): TraceRun[] {
  const runs: TraceRun[] = [];
  const sizes = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === "" || raw.startsWith("#")) continue;
    const n = i + 1;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw bad(file, n, `not JSON (${(e as Error).message})`);
    }
    const r = traceRunSchema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const at = issue.path.length ? `"${issue.path.join(".")}": ` : "";
      throw bad(file, n, `${at}${issue.message}`);
    }
    const run = r.data;
    const prev = runs[runs.length - 1];
    if (prev && run.t < prev.t)
      throw bad(file, n, `t ${run.t} is before the previous line's ${prev.t}: runs must be in time order`);
    for (const img of run.images) {
      const known = sizes.get(img.id);
      if (known !== undefined && known !== img.sizeBytes)
        throw bad(file, n, `image ${img.id} has sizeBytes ${img.sizeBytes} here but ${known} earlier`);
      sizes.set(img.id, img.sizeBytes);
    }
    runs.push(run);
  }
  return runs;
}

/** A trace as JSON Lines. */
export function formatTrace(runs: readonly TraceRun[]): string {
  return runs.map((r) => `${JSON.stringify(r)}\n`).join("");
}
