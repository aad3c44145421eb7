import { dedupeImages } from "../pull/plan.js";
import { parseFlags } from "./flags.js";
import { resolveHelp, resolveOptions, resolveSchema, resolveSelection } from "./selection.js";
import type { CommandSpec } from "./types.js";

export const imagesCommand: CommandSpec = {
  name: "images",
  summary: "the images a recipe's deploy will use, resolved as abra resolves them",
  help: `Usage: imagekeeper images --recipe DIR [--env-file FILE] [--ref VERSION | --chaos] [--set KEY=VALUE]… [--json]

Prints the images, one per line, as written after interpolation, deduplicated and sorted. The
recipe version is the one 'abra app deploy' would take (--chaos, --ref, else the version pinned in
the app .env); a line on stderr names it and where it came from. The compose files are those of
COMPOSE_FILE in the app env (default compose.yml), merged and interpolated by docker's own loader
('docker stack config') with the app env and the recipe's abra.sh exports as the only variables.

${resolveHelp}

Exit status:
  0        printed
  2        bad input (usage, bad config, the .env, the pin, the git version, a compose file,
           interpolation, a reference, a variable too large to hand to 'docker stack config'):
           nothing resolved
  70       an internal error (e.g. a docker client without 'docker stack config')
  130/143  interrupted by SIGINT/SIGTERM`,
  options: resolveOptions,
  async run(ctx, values) {
    const sel = parseFlags("images", resolveSchema, values);
    const res = await resolveSelection(sel, ctx.config, ctx.signal);
    const images = dedupeImages(res.services);
    if (sel.json) {
      ctx.out(
        `${JSON.stringify({
          recipe: res.recipe,
          ref: res.gitRef,
          version: res.version,
          versionSource: res.versionSource,
          files: res.files,
          images: images.map((i) => ({
            ref: i.ref,
            service: i.service,
            file: i.file,
            ...(i.alsoUsedBy.length ? { alsoUsedBy: i.alsoUsedBy } : {}),
          })),
        })}\n`,
      );
    } else {
      ctx.out(images.map((i) => `${i.ref}\n`).join(""));
    }
    return { kind: "ok" };
  },
};
