import { z } from "zod";
import { InputError } from "../errors.js";
import { loadAppEnv } from "../recipe/appEnv.js";
import { readDeployEnv, selectVersion } from "../recipe/resolve.js";
import { describeVersion, reportedVersion } from "../recipe/version.js";
import { parseFlags } from "./flags.js";
import { logVersion, resolveHelp, resolveOptions, resolveSchema, versionOptions } from "./selection.js";
import type { CommandSpec } from "./types.js";

export const envCommand: CommandSpec = {
  name: "env",
  summary: "the variables the deploy will see: the app .env and the recipe's abra.sh exports",
  help: `Usage: imagekeeper env --env-file FILE [--recipe DIR [--ref VERSION | --chaos]] [--set KEY=VALUE]… [--json]

Reads the app's .env the way abra does (godotenv: quotes, inline comments, $VAR expansion from
earlier keys then the process environment, export prefixes, "# length=32" modifiers ignored) and
prints the resulting variables, KEY=VALUE one per line, sorted. With --recipe, the recipe version
'abra app deploy' would take (as for 'imagekeeper images') is found and the 'export NAME=value'
lines of its abra.sh are merged over the .env, as abra merges them (abra.sh wins). These, and
nothing else, are the variables the compose files are interpolated with.

${resolveHelp.replace("  --recipe DIR        the recipe's checkout", "  --recipe DIR        optional: the recipe's checkout")}

Exit status:
  0        printed
  2        bad input (usage, bad config, the .env, a bad --set, the pin, the git version, abra.sh)
  70       an internal error (e.g. git missing)
  130/143  interrupted by SIGINT/SIGTERM`,
  options: resolveOptions,
  async run(ctx, values) {
    const f = parseFlags(
      "env",
      resolveSchema.extend({
        recipe: z.string().min(1).optional(),
        "env-file": z.string({ error: "is required" }).min(1),
      }),
      values,
    );
    let env = loadAppEnv({ envFile: f["env-file"], set: f.set });
    let version: Record<string, unknown> = {};
    if (f.recipe !== undefined) {
      const sel = await selectVersion(versionOptions({ ...f, recipe: f.recipe }, ctx.signal));
      env = await readDeployEnv(sel, ctx.signal);
      const v = reportedVersion(sel.located);
      logVersion({
        recipe: sel.recipe,
        version: v,
        versionSource: sel.located.source,
        versionNote: describeVersion(sel.recipe, sel.recipeDir, sel.located),
        env,
      });
      version = {
        recipe: sel.recipe,
        version: v,
        versionSource: sel.located.source,
        abraSh: env.abraSh ? { source: env.abraSh.source, keys: Object.keys(env.abraSh.vars).sort() } : null,
      };
    } else if (f.ref !== undefined || f.chaos) {
      throw new InputError(
        "usage",
        "imagekeeper env: --ref and --chaos choose a recipe version, which needs --recipe",
        {
          hint: "Pass --recipe DIR (the recipe's checkout) with them, or drop them to read the .env alone.",
        },
      );
    }
    const keys = Object.keys(env.vars).sort();
    if (f.json)
      ctx.out(
        `${JSON.stringify({ file: env.file, ...version, vars: Object.fromEntries(keys.map((k) => [k, env.vars[k]])), overridden: env.overridden })}\n`,
      );
    else ctx.out(keys.map((k) => `${k}=${env.vars[k]}\n`).join(""));
    return { kind: "ok" };
  },
};
