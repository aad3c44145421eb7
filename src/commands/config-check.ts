// `imagekeeper config check`: validate the config file the other commands would read, and print
// the effective configuration in the form a config file is written in (durations as "24h", not
// milliseconds), so the output is itself a valid config file that means the same.
import { configFileOf } from "../config/schema.js";
import type { CommandSpec } from "./types.js";

export const configCheck: CommandSpec = {
  name: "config check",
  summary: "validate a config file and print it with defaults filled in",
  help: `Usage: imagekeeper config check [--config FILE] [--json]

Reads the config file the other commands would read (--config, $IMAGEKEEPER_CONFIG, or
/etc/imagekeeper/config.json), validates it, and prints the effective configuration on stdout:
every key, defaults filled in, IMAGEKEEPER_STATE_DIR / _RUN_DIR / _DOCKER applied, durations as
text ("24h"). The output is a config file: \`imagekeeper config check --config OUTPUT\` accepts it
and prints the same.

Options:
  --json   print {ok: true, file, config} instead (file: the path read, or null for defaults)

Exit status:
  0        valid
  2        not valid (the error names the key and the fix)
  70       an internal error
  130/143  interrupted by SIGINT/SIGTERM`,
  options: {},
  async run(ctx) {
    const config = configFileOf(ctx.config);
    ctx.out(
      ctx.json
        ? `${JSON.stringify({ ok: true, file: ctx.configPath ?? null, config })}\n`
        : `${JSON.stringify(config, null, 2)}\n`,
    );
    return { kind: "ok" };
  },
};
