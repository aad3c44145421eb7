import { z } from "zod";
import { loadAppEnv } from "../recipe/appEnv.js";
import { parseFlags, setFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

export const envCommand: CommandSpec = {
  name: "env",
  summary: "the variables the deploy will see from an app .env",
  help: `Usage: imagekeeper env --env-file FILE [--set KEY=VALUE]… [--json]

Reads the app's .env the way abra does (godotenv: quotes, inline comments, $VAR expansion from
earlier keys then the process environment, export prefixes, "# length=32" modifiers ignored) and
prints the resulting variables, KEY=VALUE one per line, sorted. These, and nothing else, are the
variables the compose files are interpolated with.

Exit status:
  0        printed
  2        bad input (usage, bad config, an unreadable or malformed .env, a bad --set)
  70       an internal error
  130/143  interrupted by SIGINT/SIGTERM`,
  options: {
    "env-file": { type: "string" },
    set: { type: "string", multiple: true },
    json: { type: "boolean" },
  },
  async run(ctx, values) {
    const f = parseFlags(
      "env",
      z.looseObject({
        "env-file": z.string({ error: "is required" }).min(1),
        set: setFlags,
        json: z.boolean().optional(),
      }),
      values,
    );
    const env = loadAppEnv({ envFile: f["env-file"], set: f.set });
    const keys = Object.keys(env.vars).sort();
    if (f.json)
      ctx.out(
        `${JSON.stringify({ file: env.file, vars: Object.fromEntries(keys.map((k) => [k, env.vars[k]])), overridden: env.overridden })}\n`,
      );
    else ctx.out(keys.map((k) => `${k}=${env.vars[k]}\n`).join(""));
    return { kind: "ok" };
  },
};
