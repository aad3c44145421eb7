// The recipe version an app .env pins: `TYPE=name:version` or `RECIPE=name:version`, which
// `abra app new` writes and every `abra app deploy`/`upgrade`/`rollback` rewrites. abra reads it
// in two steps (docs/prepull.md "Which version"):
//  - pkg/app NewApp: the recipe is RECIPE when that key is set, else TYPE;
//  - pkg/recipe Get: `name:version` is split on ":"; more than one ":" is fatal ("version seems
//    invalid"); a version ending in "+U" is a chaos deploy of a tree with uncommitted changes,
//    which abra refuses to redeploy without --chaos.
// https://pkg.go.dev/coopcloud.tech/abra/pkg/app https://pkg.go.dev/coopcloud.tech/abra/pkg/recipe
import { InputError } from "../errors.js";

export interface PinSource {
  /** The key that named the recipe. */
  key: "RECIPE" | "TYPE";
  /** The .env file, or undefined when the key came from --set. */
  file: string | undefined;
  /** 1-based line of the (last) assignment in `file`. */
  line: number | undefined;
}

export interface Pin {
  /** The recipe name as written before ":" (may be a path such as git.example.org/org/name). */
  recipe: string;
  /** The pinned version; undefined when the value names no version (`TYPE=gitea`, `TYPE=gitea:`). */
  version: string | undefined;
  /** The version ends in "+U": a chaos deploy with uncommitted changes (abra: redeploy only with --chaos). */
  chaosDirty: boolean;
  source: PinSource;
}

/** "TYPE in /path/app.env line 3", or "--set TYPE". */
export function describePinSource(s: PinSource): string {
  if (!s.file) return `--set ${s.key}`;
  return `${s.key} in ${s.file}${s.line ? ` line ${s.line}` : ""}`;
}

/**
 * The pin of an app env, or undefined when neither RECIPE nor TYPE is set. `fromSet` lists the keys
 * given with --set (they win over the file), `lines` the line of each key in `file`.
 */
export function parsePin(
  vars: Record<string, string>,
  where: { file: string | undefined; lines: Record<string, number>; fromSet: readonly string[] },
): Pin | undefined {
  // abra checks only that RECIPE exists; an empty RECIPE= would make its recipe nameless. Falling
  // back to TYPE then is the one place this differs (docs/prepull.md).
  const key = vars.RECIPE ? "RECIPE" : vars.TYPE ? "TYPE" : undefined;
  if (!key) return undefined;
  const value = vars[key]!;
  const fromSet = where.fromSet.includes(key);
  const source: PinSource = {
    key,
    file: fromSet ? undefined : where.file,
    line: fromSet ? undefined : where.lines[key],
  };
  const parts = value.split(":");
  if (parts.length > 2) {
    throw new InputError(
      "env",
      `${describePinSource(source)} is "${value}", which has more than one ":" (abra reads it as NAME:VERSION and stops with "version seems invalid")`,
      {
        ...(source.file ? { file: source.file } : {}),
        hint: `Write ${key}=NAME or ${key}=NAME:VERSION, e.g. ${key}=${parts[0]}:${parts.at(-1)}.`,
      },
    );
  }
  const recipe = parts[0]!;
  const version = parts[1] ? parts[1] : undefined;
  return { recipe, version, chaosDirty: version?.endsWith("+U") ?? false, source };
}
