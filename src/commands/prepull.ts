import { z } from "zod";
import type { CredentialStore } from "../auth/credentials.js";
import { Engine } from "../docker/engine.js";
import { logger } from "../log.js";
import { executePlan } from "../pull/execute.js";
import { addDigestLookups, gatherLocal, gatherRegistry, type RegistryGather } from "../pull/facts.js";
import { dedupeImages, type PlannedImage, planPulls } from "../pull/plan.js";
import { checkQuotas, type QuotaCheck, shortfallMessage, shortfalls } from "../pull/quota.js";
import { dryRunResult, quotaStopResult } from "../pull/results.js";
import { progressMode, startProgress } from "../pull/show-progress.js";
import { imageLine, planText, reportResult, summary } from "../pull/render.js";
import type { ImageResult, PrepullReport, QuotaReport } from "../pull/report.js";
import { appendJournal, prepullEntry } from "../state/journal.js";
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
  "progress-interval": positiveDuration,
  "stall-after": positiveDuration,
  "dry-run": z.boolean().optional(),
});

/** The share of the deadline the registry check may take (the pulls need the rest), and its cap. */
const REGISTRY_SHARE = 4;
const REGISTRY_CAP_MS = 30_000;
const REQUEST_TIMEOUT_MS = 15_000;

export const prepullCommand: CommandSpec = {
  name: "prepull",
  summary: "make sure a recipe's images are in the local store before the deploy",
  help: `Usage: imagekeeper prepull --recipe DIR [--env-file FILE] [--ref GITREF] [--set KEY=VALUE]…
                          [--concurrency N] [--pull-policy auto|missing|always] [--retries N]
                          [--timeout DURATION] [--progress-interval DURATION]
                          [--stall-after DURATION] [--dry-run] [--json]

Resolves the images exactly as 'abra app deploy' will (see 'imagekeeper images'), then makes sure
the store holds what the deploy will run. Pull policy auto (default): for each tag, ask its
registry for the digest 'docker stack deploy' will pin (one HEAD, which Docker Hub does not count
as a pull) and pull when the store lacks that digest; an image whose registry cannot be asked is
used as it is, with a warning (the deploy does the same); digests in the compose file need no
request. Before any pull, a registry quota (Docker Hub's ratelimit headers) that is smaller than
the pulls needed fails the prepull as rate-limited. missing: pull only what is absent, with no
registry request at all (offline hosts). always: pull everything.

Failures are classified (rate-limited, not-found, unauthorized, …, docs/prepull.md); transient ones
are retried with exponential backoff and jitter inside the deadline, permanent ones fail at once.

${selectionHelp}
Pulling:
  --concurrency N     images pulled at once (default 3, config prepull.concurrency). dockerd
                      downloads at most max-concurrent-downloads layers at a time for the whole
                      daemon (default 3): images beyond it wait for a slot (the report's waitMs)
                      and finish no sooner. Raise both together (NixOS:
                      services.imagekeeper.docker.maxConcurrentDownloads).
  --pull-policy P     auto | missing | always (default auto, config prepull.pullPolicy)
  --retries N         attempts per image for transient failures (default 4)
  --timeout DURATION  deadline for the whole prepull, registry checks included (default 30m)
  --dry-run           ask the registries and print the plan; pull nothing

Progress (on stderr; none with --quiet or --json):
  On a terminal, a live block of the pulls in flight (image, state, bytes, elapsed) and the overall
  n/m, redrawn in place under the log lines. Otherwise a line per image per state change, a
  "still pulling IMAGE: 120/300 MB, 45s" line at a steady interval, and a warning when a pull
  gets no bytes for a while ("stalled: no bytes for 30s").
  --progress-interval DURATION  the steady interval without a terminal (default 10s, config
                      prepull.progressInterval)
  --stall-after DURATION  no bytes for this long is a stall (default 30s, config prepull.stallAfter)

Exit status:
  0        every image present or pulled
  1        a pull failed, or the pull quota is too small for the pulls needed
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
    "progress-interval": { type: "string" },
    "stall-after": { type: "string" },
    "dry-run": { type: "boolean" },
  },
  async run(ctx, values) {
    const f = parseFlags("prepull", prepullSchema, values);
    const cfg = ctx.config.prepull;
    const started = Date.now();
    const policy = f["pull-policy"] ?? cfg.pullPolicy;
    const timeoutMs = f.timeout ?? cfg.timeout;
    if (cfg.mutableTags !== undefined)
      logger().warn(
        { key: "prepull.mutableTags" },
        "prepull.mutableTags is deprecated and ignored: the auto policy compares every tag's digest with its registry",
      );
    const res = await resolveSelection(f, ctx.config, ctx.signal);
    const wanted = dedupeImages(res.services);
    // The deadline covers the registry check and the pulls.
    const deadlineAt = Date.now() + timeoutMs;

    // The pulling user's credentials, read on first need (never for a warm `missing` prepull) and
    // shared by the registry check and the pulls, so a credential helper is asked once per registry.
    let store: Promise<CredentialStore> | undefined;
    const credentials = () =>
      (store ??= import("../auth/credentials.js").then((m) => m.CredentialStore.forUser(ctx.env)));

    // What is here (Engine API over the socket) and, unless the policy is missing, what the
    // registries say each tag's digest is now: both at once.
    const engine = new Engine();
    const registryBudget = Math.min(REGISTRY_CAP_MS, Math.max(1000, Math.round(timeoutMs / REGISTRY_SHARE)));
    const [local, registry] = await Promise.all([
      gatherLocal(engine, wanted),
      policy === "missing"
        ? undefined
        : gatherRegistry(engine, wanted, {
            env: ctx.env,
            credentials: await credentials(),
            signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(registryBudget)]),
            requestTimeoutMs: Math.min(REQUEST_TIMEOUT_MS, registryBudget),
          }),
    ]);
    if (registry && policy === "auto") await addDigestLookups(engine, wanted, local, registry.facts);
    const plan = planPulls(wanted, local, registry?.facts ?? new Map(), policy);
    const quotas = checkQuotas(plan, registry?.quotas ?? []);
    logger().debug(
      { plan: plan.map((p) => ({ ref: p.ref, action: p.action, reason: p.reason, digest: p.digest })) },
      "pull plan",
    );

    const base = {
      recipe: res.recipe,
      ref: res.gitRef,
      version: res.version,
      versionSource: res.versionSource,
      pullPolicy: policy,
      ...(quotas.length ? { quota: quotas.map(quotaReport) } : {}),
    };
    const short = shortfalls(quotas);
    if (f["dry-run"]) {
      const images = plan.map(dryRunResult);
      const report: PrepullReport = {
        ok: true,
        ...base,
        dryRun: true,
        durationMs: Math.round(Date.now() - started),
        images,
      };
      const quotaLines = short.map(
        (c) => `quota  ${shortfallMessage(c).replace(/; nothing was pulled$/, "")}\n`,
      );
      ctx.out(f.json ? `${JSON.stringify(report)}\n` : `${planText(plan)}\n${quotaLines.join("")}`);
      return { kind: "ok" };
    }

    // Room first: a prune in the gap between runs when these pulls would reach the high watermark
    // (docs/prune.md, "Gap prunes"). The manifests' HEADs do not give layer sizes (a GET would count
    // as a Docker Hub pull), so the bytes to pull are not known (0). Loaded only when something is
    // to be pulled: a warm prepull stays lean.
    if (plan.some((p) => p.action === "pull"))
      await (await import("../prune/gap-prune.js")).gapPruneBeforePull(ctx, plan);
    const tty = ctx.isTTY && !f.json;
    let results: ImageResult[];
    if (short.length) {
      // Not enough quota for this prepull: fail before the first pull rather than halfway.
      results = plan.map((p) => quotaStopResult(p, short));
      for (const r of results) reportResult(r, tty, ctx.out);
    } else {
      const [{ registryAuthHeader }, { resolveRegistry }, creds] = await Promise.all([
        import("../auth/credentials.js"),
        import("../auth/registry.js"),
        credentials(),
      ]);
      const view = startProgress(
        progressMode({ json: Boolean(f.json), quiet: ctx.quiet, stderrTTY: ctx.stderr.tty }),
        {
          total: plan.filter((p) => p.action === "pull").length,
          intervalMs: f["progress-interval"] ?? cfg.progressInterval,
          stallMs: f["stall-after"] ?? cfg.stallAfter,
        },
        {
          stdout: { write: ctx.out },
          stderr: { write: ctx.err },
          columns: () => process.stderr.columns || ctx.stderr.columns || 80,
        },
      );
      results = await executePlan(plan, {
        engine,
        registryAuth: async (img) =>
          registryAuthHeader(await creds.get(resolveRegistry(img.parsed.domain).key)),
        concurrency: f.concurrency ?? cfg.concurrency,
        maxAttempts: f.retries ?? cfg.retries,
        backoff: { baseMs: cfg.backoffBase, capMs: cfg.backoffCap },
        timeoutMs: deadlineAt - Date.now(),
        signal: ctx.signal,
        onStart: (img, attempt) => view.onStart(img, attempt),
        onProgress: (img, p) => view.onProgress(img, p),
        onResult: (r) => {
          let line: string | undefined;
          reportResult(r, tty, (s) => (line = (line ?? "") + s));
          view.onResult(r, line);
        },
      }).finally(() => view.stop());
    }
    const ok = results.every((r) => r.action === "present" || r.action === "pulled");
    const report: PrepullReport = {
      ok,
      ...base,
      durationMs: Math.round(Date.now() - started),
      images: results,
    };
    if (registry) await saveQuotas(ctx.config.stateDir, registry, results, plan);

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

    // History for `imagekeeper history`; never fails the prepull.
    await appendJournal(ctx.config.stateDir, prepullEntry(report, f["env-file"]));

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

function quotaReport(c: QuotaCheck): QuotaReport {
  return {
    registry: c.registry,
    endpoint: c.endpoint,
    limit: c.limit,
    remaining: c.remaining,
    ...(c.windowSeconds !== undefined ? { windowSeconds: c.windowSeconds } : {}),
    ...(c.resetBy !== undefined ? { resetBy: new Date(c.resetBy).toISOString() } : {}),
    ...(c.source ? { source: c.source } : {}),
    needed: c.needed,
  };
}

/** The quotas seen, for `status`; never fails the prepull. */
async function saveQuotas(
  stateDir: string,
  registry: RegistryGather,
  results: readonly ImageResult[],
  plan: readonly PlannedImage[],
): Promise<void> {
  if (!registry.quotas.length) return;
  const checks = checkQuotas(plan, registry.quotas);
  const pulled = (domain: string) =>
    results.filter((r, i) => r.action === "pulled" && plan[i]?.parsed.domain === domain).length;
  try {
    const { recordQuotas } = await import("../state/quota.js");
    const at = Math.max(...registry.quotas.map((q) => q.at));
    await recordQuotas(
      stateDir,
      Object.fromEntries(
        checks.map((c) => [
          c.registry,
          {
            at: registry.quotas.find((q) => q.registry === c.registry && q.endpoint === c.endpoint)?.at ?? at,
            endpoint: c.endpoint,
            limit: c.limit,
            remaining: c.remaining,
            windowSeconds: c.windowSeconds ?? null,
            resetBy: c.resetBy ?? null,
            source: c.source ?? null,
            pulledAfter: pulled(c.registry),
          },
        ]),
      ),
    );
  } catch (e) {
    logger().warn({ err: (e as Error).message, stateDir }, "could not record the registry quota");
  }
}
