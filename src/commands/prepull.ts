import { z } from "zod";
import { docker } from "../docker/cli.js";
import { Engine } from "../docker/engine.js";
import { logger } from "../log.js";
import { executePlan } from "../pull/execute.js";
import { dedupeImages, planPulls } from "../pull/plan.js";
import { imageLine, planText, reportResult, summary } from "../pull/render.js";
import type { ImageResult, PrepullReport } from "../pull/report.js";
import { recordLedger } from "../state/ledger.js";
import { durationMs } from "../util/duration.js";
import { intFlag, parseFlags } from "./flags.js";
import { resolveSelection, selectionHelp, selectionOptions, selectionSchema } from "./selection.js";
import type { CommandSpec } from "./types.js";

const positiveDuration = durationMs.refine((ms) => ms > 0, "must be longer than zero").optional();

const prepullSchema = selectionSchema.extend({
  concurrency: intFlag(1, 32).optional(),
  "pull-policy": z.enum(["auto", "missing", "always"]).optional(),
  retries: intFlag(1, 20).optional(),
  timeout: positiveDuration,
  "dry-run": z.boolean().optional(),
});

export const prepullCommand: CommandSpec = {
  name: "prepull",
  summary: "make sure a recipe's images are in the local store before the deploy",
  help: `Usage: imagekeeper prepull --recipe DIR [--env-file FILE] [--ref GITREF] [--set KEY=VALUE]…
                          [--concurrency N] [--pull-policy auto|missing|always] [--retries N]
                          [--timeout DURATION] [--dry-run] [--json]

Resolves the images exactly as 'abra app deploy' will (see 'imagekeeper images'), then makes sure
each is in the local store. Pull policy auto (default): digests and pinned tags are skipped when
present (one local check, no network); mutable tags (latest, main, edge, nightly…; config
prepull.mutableTags) are always pulled, which costs a HEAD when unchanged. missing: pull only what
is absent. always: pull everything.

Failures are classified (rate-limited, not-found, unauthorized, …, docs/prepull.md); transient ones
are retried with exponential backoff and jitter inside the deadline, permanent ones fail at once.

${selectionHelp}
Pulling:
  --concurrency N     pulls at once (default 3, config prepull.concurrency)
  --pull-policy P     auto | missing | always (default auto)
  --retries N         attempts per image for transient failures (default 4)
  --timeout DURATION  deadline for the whole prepull (default 30m)
  --dry-run           print the plan; pull nothing

Exit status:
  0        every image present or pulled
  1        a pull failed
  2        bad input (usage, bad config, the app .env, the compose files, a variable too large to
           hand to 'docker stack config'): nothing pulled
  3        Docker daemon unreachable
  70       an internal error (e.g. the docker client missing or too old)
  130/143  interrupted by SIGINT/SIGTERM`,
  options: {
    ...selectionOptions,
    concurrency: { type: "string" },
    "pull-policy": { type: "string" },
    retries: { type: "string" },
    timeout: { type: "string" },
    "dry-run": { type: "boolean" },
  },
  async run(ctx, values) {
    const f = parseFlags("prepull", prepullSchema, values);
    const cfg = ctx.config.prepull;
    const started = Date.now();
    const res = await resolveSelection(f, ctx.config, ctx.signal);
    const wanted = dedupeImages(res.services);

    // What is already here: one Engine API call per image over the socket, no process spawned.
    const engine = new Engine();
    const ids = await Promise.all(wanted.map(async (w) => (await engine.inspectImage(w.ref))?.Id));
    const present = new Map(wanted.map((w, i) => [w.ref, ids[i]]));
    const plan = planPulls(wanted, present, f["pull-policy"] ?? cfg.pullPolicy, cfg.mutableTags);
    logger().debug(
      { plan: plan.map((p) => ({ ref: p.ref, action: p.action, reason: p.reason })) },
      "pull plan",
    );

    const base = {
      recipe: res.recipe,
      ref: res.gitRef,
      version: res.version,
      versionSource: res.versionSource,
    };
    if (f["dry-run"]) {
      const images: ImageResult[] = plan.map((p) => ({
        ref: p.ref,
        service: p.service,
        file: p.file,
        action: p.action === "skip" ? "present" : "not-attempted",
        attempts: 0,
        durationMs: 0,
        reason: p.action === "skip" ? p.reason : `would pull: ${p.reason}`,
        ...(p.presentId ? { id: p.presentId } : {}),
        ...(p.alsoUsedBy.length ? { alsoUsedBy: p.alsoUsedBy } : {}),
      }));
      const report: PrepullReport = {
        ok: true,
        ...base,
        dryRun: true,
        durationMs: Math.round(Date.now() - started),
        images,
      };
      ctx.out(f.json ? `${JSON.stringify(report)}\n` : `${planText(plan)}\n`);
      return { kind: "ok" };
    }

    const tty = ctx.isTTY && !f.json;
    const results = await executePlan(plan, {
      docker: docker(ctx.config.docker),
      engine,
      concurrency: f.concurrency ?? cfg.concurrency,
      maxAttempts: f.retries ?? cfg.retries,
      backoff: { baseMs: cfg.backoffBase, capMs: cfg.backoffCap },
      timeoutMs: f.timeout ?? cfg.timeout,
      signal: ctx.signal,
      onStart: (img, attempt) => {
        if (tty) ctx.out(`  pulling ${img.ref}${attempt > 1 ? ` (attempt ${attempt})` : ""}…\n`);
      },
      onResult: (r) => reportResult(r, tty, ctx.out),
    });
    const ok = results.every((r) => r.action === "present" || r.action === "pulled");
    const report: PrepullReport = {
      ok,
      ...base,
      durationMs: Math.round(Date.now() - started),
      images: results,
    };

    // The ledger feeds the prune policy; it must never fail a prepull.
    const resolved = results.filter((r) => r.action === "present" || r.action === "pulled");
    if (resolved.length) {
      const at = Date.now();
      // The app as its swarm stack name (what its containers' stack label says, so uses seen by
      // `imagekeeper watch` land on the same app); the role: --role (a harness's own tier), else
      // the upgrade's new version (--ref) or the deploy (the pin, the working tree, --chaos).
      const app = res.env.vars.STACK_NAME || res.recipe;
      const role = f.role ?? (res.versionSource === "ref" ? "upgrade" : "deploy");
      try {
        const u = await recordLedger(
          ctx.config.stateDir,
          {
            uses: resolved.flatMap((r) =>
              r.id ? [{ at, id: r.id, ref: r.ref, app, role, source: "prepull" as const }] : [],
            ),
            arrivals: resolved.flatMap((r) =>
              r.action === "pulled" && r.id ? [{ at, id: r.id, ref: r.ref, how: "pull" as const }] : [],
            ),
            needs: [
              {
                at,
                app,
                role,
                recipe: res.recipe,
                version: res.version,
                versionSource: res.versionSource,
                images: resolved.map((r) => ({ ref: r.ref, id: r.id ?? null })),
              },
            ],
          },
          { horizonMs: ctx.config.ledger.horizon },
        );
        if (u.problem) logger().warn({ problem: u.problem }, "the ledger was damaged: set aside and rebuilt");
      } catch (e) {
        logger().warn(
          { err: (e as Error).message, stateDir: ctx.config.stateDir },
          "could not record this prepull in the ledger",
        );
      }
    }

    if (ctx.config.metrics.textfile) {
      // Loaded only when configured; it logs and swallows its own failures.
      const { recordPrepullMetrics } = await import("../metrics/textfile.js");
      await recordPrepullMetrics(ctx.config, report);
    }

    if (f.json) ctx.out(`${JSON.stringify(report)}\n`);
    else if (tty) ctx.out(`${summary(report)}\n`);
    else {
      logger()[ok ? "info" : "error"]({ ok, images: results.length }, summary(report));
      // Failures also go to stdout in plain text, so a harness that only shows stdout explains itself.
      for (const r of results.filter((x) => x.action === "failed")) ctx.out(`${imageLine(r)}\n`);
    }
    return ok ? { kind: "ok" } : { kind: "failed" };
  },
};
