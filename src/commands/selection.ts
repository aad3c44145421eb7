// The flags that pick a recipe's image set, shared by `images` and `prepull`.

import path from "node:path";
import { z } from "zod";
import type { Config } from "../config/schema.js";
import { type Resolution, resolveRecipe } from "../recipe/resolve.js";
import { setFlags } from "./flags.js";

export const selectionOptions = {
  recipe: { type: "string" },
  "env-file": { type: "string" },
  ref: { type: "string" },
  set: { type: "string", multiple: true },
  json: { type: "boolean" },
} as const;

export const selectionHelp = `Selection:
  --recipe DIR        the recipe's checkout (compose files, git history)
  --env-file FILE     the app's .env (COMPOSE_FILE, versions, variables); optional
  --ref GITREF        read the compose files at this git ref (the upgrade's new version),
                      without touching the checkout
  --set KEY=VALUE     add or override a variable (repeatable)
  --json              print one JSON document on stdout`;

export const selectionSchema = z.looseObject({
  recipe: z.string({ error: "is required: the recipe directory" }).min(1),
  "env-file": z.string().min(1).optional(),
  ref: z.string().min(1).optional(),
  set: setFlags,
  json: z.boolean().optional(),
});
export type Selection = z.output<typeof selectionSchema>;

export function resolveSelection(sel: Selection, config: Config, signal: AbortSignal): Promise<Resolution> {
  return resolveRecipe({
    recipeDir: sel.recipe,
    envFile: sel["env-file"],
    gitRef: sel.ref,
    set: sel.set,
    docker: config.docker,
    cacheDir: path.join(config.stateDir, "cache"),
    signal,
  });
}
