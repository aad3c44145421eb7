// The variables a recipe's abra.sh adds to the deploy's environment. abra does not run abra.sh for
// a deploy: envfile.ReadAbraShEnvVars picks `export NAME=value` lines out of it by pattern, and
// deploy.MergeAbraShEnv copies them over the app env, so an abra.sh export WINS over the same key
// in the app .env (recipes use it for config versions: `export NGINX_CONF_VERSION=v3`, read by
// `name: ${STACK_NAME}_nginx_${NGINX_CONF_VERSION}` in the compose file).
// https://pkg.go.dev/coopcloud.tech/abra/pkg/envfile#ReadAbraShEnvVars
// https://pkg.go.dev/coopcloud.tech/abra/pkg/deploy#MergeAbraShEnv
//
// The reader is abra's, quirks and all (table in test/unit/abra-sh.test.ts, docs/prepull.md):
//  - a line counts when it matches `^export\s+\w+=\w+` (Go regexp: `\w` is [0-9A-Za-z_]): `export`
//    at the very start, a name, "=", and a value that STARTS with a word character. Indented
//    exports, `export A="v1"`, `export A=$B`, `export A=` and `A=v1` are all ignored;
//  - the text after the last "export " is split on "=": exactly two parts or abra stops the deploy
//    ("couldn't parse"); the value is the rest of the line as written: no unquoting, no expansion,
//    a trailing `# comment` and blanks are part of it;
//  - lines end at "\n"; a "\r" before it is dropped (Go's bufio.ScanLines). No abra.sh: no variables.
import { InputError } from "../errors.js";

export interface AbraShExport {
  name: string;
  value: string;
  /** 1-based line number. */
  line: number;
}

/** RE2's `\w` is ASCII-only, like JavaScript's without the u flag. */
const EXPORT_LINE = /^export\s+\w+=\w+/;

/** The exports abra reads from abra.sh text (a later line wins in the map, as in abra's loop). */
export function parseAbraSh(text: string, file: string): AbraShExport[] {
  const out: AbraShExport[] = [];
  const lines = text.split("\n");
  // A final "\n" does not start another (empty) line for ScanLines: harmless either way.
  lines.forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!EXPORT_LINE.test(line)) return;
    const def = line.split("export ").at(-1)!;
    const kv = def.split("=");
    if (kv.length !== 2) {
      throw new InputError(
        "env",
        `${file}:${i + 1}: abra cannot read this export: it splits what follows the last "export " on "=" and needs exactly one "=" there (its deploy stops with "couldn't parse")`,
        {
          file,
          hint: 'abra.sh belongs to the recipe: fix the line there (a config version needs no "="), or resolve another recipe version.',
        },
      );
    }
    out.push({ name: kv[0]!, value: kv[1]!, line: i + 1 });
  });
  return out;
}

/** The exports as a map: the last export of a name wins. */
export function abraShVars(exports: readonly AbraShExport[]): Record<string, string> {
  // fromEntries, not an object literal: a name like __proto__ must land as a key.
  return Object.fromEntries(exports.map((e) => [e.name, e.value]));
}

/**
 * The app env with abra.sh merged in as abra merges it: every export overwrites the app's value.
 * `overridden` names the app keys whose value an export replaced with a different one.
 */
export function mergeAbraSh(
  appVars: Record<string, string>,
  exports: Record<string, string>,
): { vars: Record<string, string>; overridden: string[] } {
  const overridden = Object.keys(exports)
    .filter((k) => Object.hasOwn(appVars, k) && appVars[k] !== exports[k])
    .sort();
  return { vars: Object.fromEntries([...Object.entries(appVars), ...Object.entries(exports)]), overridden };
}
