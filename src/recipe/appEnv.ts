// The variables the deploy sees. abra reads the app's .env (godotenv semantics, src/recipe/dotenv.ts),
// merges the recipe's abra.sh exports over it (src/recipe/abraSh.ts: abra.sh wins), and uses that
// map, not the process environment, to interpolate the compose files. --set adds or overrides keys
// of the .env layer (the CI harness sets e.g. a version under test, as it would edit the .env), so
// an abra.sh export of the same key still wins over it, as it would over the edited .env.
import path from "node:path";
import { mergeAbraSh } from "./abraSh.js";
import { readDotenv } from "./dotenv.js";

export interface AppEnv {
  vars: Record<string, string>;
  /** The .env file read, if any. */
  file: string | undefined;
  /** Keys that came from --set (reported by `imagekeeper env`). */
  overridden: string[];
  /** The 1-based line of each key's last assignment in `file`. */
  lines: Record<string, number>;
  /** The recipe's abra.sh exports merged into `vars`, when a recipe version was read. */
  abraSh?: {
    /** abra.sh, as "abra.sh" in the working tree or "abra.sh at VERSION". */
    source: string;
    vars: Record<string, string>;
    /** App keys (from the .env or --set) whose value an abra.sh export replaced. */
    replaced: string[];
  };
}

/** The .env layer: the file read as abra reads it, then --set. No abra.sh, no STACK_NAME. */
export function readAppEnv(opts: {
  envFile: string | undefined;
  set: Record<string, string>;
  processEnv?: NodeJS.ProcessEnv;
}): AppEnv {
  const penv = opts.processEnv ?? process.env;
  const vars: Record<string, string> = {};
  const lines: Record<string, number> = {};
  if (opts.envFile) {
    // godotenv falls back to the process environment for $VAR inside the file.
    const parsed = readDotenv(opts.envFile, (n) => penv[n]);
    Object.assign(vars, parsed.vars);
    for (const e of parsed.entries) lines[e.key] = e.line;
  }
  Object.assign(vars, opts.set);
  return {
    vars,
    file: opts.envFile ? path.resolve(opts.envFile) : undefined,
    overridden: Object.keys(opts.set).sort(),
    lines,
  };
}

/**
 * The deploy's map: abra.sh exports over the .env layer (abra's MergeAbraShEnv), then STACK_NAME.
 * abra sets STACK_NAME (the domain with dots made underscores) before loading the compose files;
 * recipes use it in config and secret names. Filled in the same way unless given.
 */
export function deployEnv(base: AppEnv, abraSh?: { source: string; vars: Record<string, string> }): AppEnv {
  const merged = abraSh ? mergeAbraSh(base.vars, abraSh.vars) : { vars: { ...base.vars }, overridden: [] };
  const vars = merged.vars;
  if (vars.STACK_NAME === undefined && vars.DOMAIN) vars.STACK_NAME = vars.DOMAIN.replaceAll(".", "_");
  return {
    ...base,
    vars,
    ...(abraSh ? { abraSh: { source: abraSh.source, vars: abraSh.vars, replaced: merged.overridden } } : {}),
  };
}

/** The .env layer and STACK_NAME, without a recipe (`imagekeeper env` without --recipe). */
export function loadAppEnv(opts: {
  envFile: string | undefined;
  set: Record<string, string>;
  processEnv?: NodeJS.ProcessEnv;
}): AppEnv {
  return deployEnv(readAppEnv(opts));
}

/** The recipe's name: RECIPE, else TYPE without its ":version", else the directory's name. */
export function recipeName(vars: Record<string, string>, recipeDir: string): string {
  const fromEnv = (vars.RECIPE || vars.TYPE)?.split(":")[0];
  return fromEnv || path.basename(path.resolve(recipeDir));
}
