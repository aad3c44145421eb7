import { z } from "zod";
import { parseFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

export const configCheck: CommandSpec = {
  name: "config check",
  summary: "validate a config file and print it with defaults filled in",
  help: `Usage: imagekeeper config check [--config FILE] [--json]

Reads the config file the other commands would read (--config, $IMAGEKEEPER_CONFIG, or
/etc/imagekeeper/config.json), validates it, and prints the effective configuration.

Exit status:
  0        valid
  2        not valid (the error names the key and the fix)
  70       an internal error
  130/143  interrupted by SIGINT/SIGTERM`,
  options: { json: { type: "boolean" } },
  async run(ctx, values) {
    parseFlags("config check", z.looseObject({ json: z.boolean().optional() }), values);
    ctx.out(`${JSON.stringify({ ok: true, file: ctx.configPath ?? null, config: ctx.config }, null, 2)}\n`);
    return { kind: "ok" };
  },
};
