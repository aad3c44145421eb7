// The variables the deploy sees: abra reads the app's .env (godotenv semantics, src/recipe/dotenv.ts),
// and uses that map, not the process environment, to interpolate the compose files. --set adds
// or overrides keys (the CI harness sets e.g. a version under test).
import path from "node:path";
import { readDotenv } from "./dotenv.js";

export interface AppEnv {
  vars: Record<string, string>;
  /** The .env file read, if any. */
  file: string | undefined;
  /** Keys that came from --set (reported by `imagekeeper env`). */
  overridden: string[];
}

export function loadAppEnv(opts: {
  envFile: string | undefined;
  set: Record<string, string>;
  processEnv?: NodeJS.ProcessEnv;
}): AppEnv {
  const penv = opts.processEnv ?? process.env;
  const vars: Record<string, string> = {};
  if (opts.envFile) {
    // godotenv falls back to the process environment for $VAR inside the file.
    Object.assign(vars, readDotenv(opts.envFile, (n) => penv[n]).vars);
  }
  Object.assign(vars, opts.set);
  // abra sets STACK_NAME (the domain with dots made underscores) before loading the compose files;
  // recipes use it in config and secret names. Fill it in the same way unless given.
  if (vars.STACK_NAME === undefined && vars.DOMAIN) vars.STACK_NAME = vars.DOMAIN.replaceAll(".", "_");
  return {
    vars,
    file: opts.envFile ? path.resolve(opts.envFile) : undefined,
    overridden: Object.keys(opts.set).sort(),
  };
}

/** The recipe's name: RECIPE, else TYPE without its ":version", else the directory's name. */
export function recipeName(vars: Record<string, string>, recipeDir: string): string {
  const fromEnv = vars.RECIPE || vars.TYPE;
  if (fromEnv) return fromEnv.split(":")[0]!;
  return path.basename(path.resolve(recipeDir));
}
