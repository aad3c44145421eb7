// The flags that pick a recipe version and its image set, shared by `images`, `env` and `prepull`.
// `resolve*` is the set `images` and `env` take; `selection*` adds prepull's ledger role.

import path from "node:path";
import { z } from "zod";
import type { Config } from "../config/schema.js";
import { logger } from "../log.js";
import { type Resolution, resolveRecipe, type VersionOptions } from "../recipe/resolve.js";
import { setFlags } from "./flags.js";

export const resolveOptions = {
  recipe: { type: "string" },
  "env-file": { type: "string" },
  ref: { type: "string" },
  chaos: { type: "boolean" },
  set: { type: "string", multiple: true },
  json: { type: "boolean" },
} as const;

export const selectionOptions = { ...resolveOptions, role: { type: "string" } } as const;

export const resolveHelp = `Selection (the recipe version as 'abra app deploy' chooses it, docs/prepull.md):
  --recipe DIR        the recipe's checkout (compose files, abra.sh, git history)
  --env-file FILE     the app's .env (TYPE=NAME:VERSION, COMPOSE_FILE, variables); optional
                      the version pinned there (TYPE or RECIPE) is read through git, without
                      touching the checkout; no pin: the working tree, with a notice
  --ref VERSION       read this version (tag, branch, commit) instead of the pin: the upgrade's
                      new version, as 'abra app deploy APP VERSION' / 'abra app upgrade' take it
  --chaos             the working tree as it is, uncommitted changes included, whatever the pin
                      says: what 'abra app deploy --chaos' deploys
  --set KEY=VALUE     add or override a variable of the app .env (repeatable); an export in the
                      recipe's abra.sh still wins, as it does over the .env
  --json              print one JSON document on stdout`;

export const selectionHelp = `${resolveHelp}
  --role NAME         what this deploy is for, recorded in the ledger beside the app (default:
                      upgrade with --ref, else deploy); e.g. a CI tier: base, upgrade, pr`;

export const resolveSchema = z.looseObject({
  recipe: z.string({ error: "is required: the recipe directory" }).min(1),
  "env-file": z.string().min(1).optional(),
  ref: z.string().min(1).optional(),
  chaos: z.boolean().optional(),
  set: setFlags,
  json: z.boolean().optional(),
});

export const selectionSchema = resolveSchema.extend({
  role: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, "must be a lower-case word (letters, digits, -), e.g. upgrade")
    .optional(),
});
export type Selection = z.output<typeof resolveSchema>;

export async function resolveSelection(
  sel: Selection,
  config: Config,
  signal: AbortSignal,
): Promise<Resolution> {
  const res = await resolveRecipe({
    ...versionOptions(sel, signal),
    docker: config.docker,
    cacheDir: path.join(config.stateDir, "cache"),
  });
  logVersion(res);
  return res;
}

/** The version-choosing flags as the recipe layer takes them. */
export function versionOptions(
  sel: {
    recipe: string;
    "env-file"?: string | undefined;
    ref?: string | undefined;
    chaos?: boolean | undefined;
    set: Record<string, string>;
  },
  signal: AbortSignal,
): VersionOptions {
  return {
    recipeDir: sel.recipe,
    envFile: sel["env-file"],
    gitRef: sel.ref,
    chaos: sel.chaos ?? false,
    set: sel.set,
    signal,
  };
}

/** The version line on stderr: what was resolved and why (a warning when abra may differ). */
export function logVersion(
  res: Pick<Resolution, "recipe" | "version" | "versionSource" | "versionNote" | "env">,
): void {
  const fields = { recipe: res.recipe, version: res.version, versionSource: res.versionSource };
  if (res.versionNote.notice) logger().warn(fields, res.versionNote.text);
  // A plain directory has no versions: nothing worth a line.
  else if (res.version !== null || res.versionSource !== "working-tree")
    logger().info(fields, res.versionNote.text);
  const replaced = res.env.abraSh?.replaced.filter((k) => res.env.overridden.includes(k)) ?? [];
  if (replaced.length) {
    logger().warn(
      { keys: replaced, source: res.env.abraSh?.source },
      `--set ${replaced.join(", ")} is replaced by the recipe's abra.sh export, as abra replaces the .env's value`,
    );
  }
}
