import { dedupeImages } from "../pull/plan.js";
import { parseFlags } from "./flags.js";
import { resolveSelection, selectionHelp, selectionOptions, selectionSchema } from "./selection.js";
import type { CommandSpec } from "./types.js";

export const imagesCommand: CommandSpec = {
  name: "images",
  summary: "the images a recipe's deploy will use, resolved as abra resolves them",
  help: `Usage: imagekeeper images --recipe DIR [--env-file FILE] [--ref GITREF] [--set KEY=VALUE]… [--json]

Prints the images, one per line, as written after interpolation, deduplicated and sorted. The
compose files are those of COMPOSE_FILE in the app env (default compose.yml), merged and
interpolated by docker's own loader ('docker stack config') with the app env as the only variables.

${selectionHelp}

Exit status:
  0        printed
  2        bad input (usage, bad config, the app .env, the compose files, a variable too large to
           hand to 'docker stack config'): nothing resolved
  70       an internal error (e.g. the docker client missing or too old)
  130/143  interrupted by SIGINT/SIGTERM`,
  options: selectionOptions,
  async run(ctx, values) {
    const sel = parseFlags("images", selectionSchema, values);
    const res = await resolveSelection(sel, ctx.config, ctx.signal);
    const images = dedupeImages(res.services);
    if (sel.json) {
      ctx.out(
        `${JSON.stringify({
          recipe: res.recipe,
          ref: res.gitRef,
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
