// Which compose files a deploy merges: abra splits the app env's COMPOSE_FILE on ":" (paths relative
// to the recipe directory, in order); unset or empty means compose.yml. A named file that does not
// exist is an error, as it is for abra.
import path from "node:path";
import { InputError } from "../errors.js";

export const DEFAULT_COMPOSE_FILE = "compose.yml";

export function composeFileList(vars: Record<string, string>): string[] {
  const raw = vars.COMPOSE_FILE ?? "";
  // Empty entries appear when a .env starts with COMPOSE_FILE="$COMPOSE_FILE:x" and nothing was set
  // before: they name no file.
  const list = raw.split(":").filter((f) => f.trim() !== "");
  return list.length ? list : [DEFAULT_COMPOSE_FILE];
}

export function checkComposeFiles(
  files: string[],
  recipeDir: string,
  exists: (rel: string) => boolean,
  envFile: string | undefined,
  where = `the recipe directory ${recipeDir}`,
): void {
  for (const f of files) {
    // Outside the recipe: absolute, or its normalized first component is "..". Only a whole
    // component counts: "..compose.yml" or "..d/x.yml" are names inside the recipe.
    if (path.isAbsolute(f) || path.normalize(f).split("/")[0] === "..") {
      throw new InputError("compose", `COMPOSE_FILE names "${f}", which is not a path inside the recipe`, {
        ...(envFile ? { file: envFile } : {}),
        hint: "List compose files relative to the recipe directory, separated by ':'.",
      });
    }
    if (!exists(f)) {
      throw new InputError(
        "compose",
        `the compose file "${f}" (from ${envFile ? "COMPOSE_FILE" : "the default"}) does not exist in ${where}`,
        {
          ...(envFile ? { file: envFile } : {}),
          hint: envFile
            ? `Fix COMPOSE_FILE in ${envFile} (files separated by ':', relative to the recipe), or check out the recipe version that has it.`
            : `Pass --env-file with the app's .env (its COMPOSE_FILE lists the files), or add ${DEFAULT_COMPOSE_FILE} to the recipe.`,
        },
      );
    }
  }
}
