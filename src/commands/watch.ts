// `imagekeeper watch`: the long-running service that records image uses from the engine's event
// stream (src/watch/). Wiring only: the lock that keeps one watch per state dir, signals, the
// ledger writer and the periodic metrics.
import { z } from "zod";
import { dockerEndpoint, Engine } from "../docker/engine.js";
import { InputError } from "../errors.js";
import { logger } from "../log.js";
import { recordWatchMetrics, type DiskGaugeInput } from "../metrics/textfile.js";
import { measureDisk } from "../prune/measure.js";
import { recordLedger } from "../state/ledger.js";
import { durationMs } from "../util/duration.js";
import { Follower, type WatchCounters } from "../watch/follow.js";
import { lockWatch, watchLockPath } from "../watch/state.js";
import { parseFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

const HELP = `Usage: imagekeeper watch [--flush-interval DURATION] [--metrics-interval DURATION]

Runs until stopped (SIGTERM, SIGINT), following the Docker daemon's event stream and recording in
the ledger what the prune policy needs to know (docs/watch.md):
  container create/start       a use of its image (app: its swarm stack, com.docker.stack.namespace)
  image pull/tag/load/import   an arrival (prune.minAge protects new arrivals)
  image delete                 the image is gone
At start, and after every reconnect, it reconciles from the containers and images present (running
containers are uses now, stopped ones at their last activity). Its position in the stream is kept
in STATE_DIR/watch.json, so a restart of watch or of dockerd resumes where it stopped. When the
daemon goes away it logs once and reconnects by itself. With metrics.textfile set it refreshes the
disk gauges every --metrics-interval. Prune and status work without it (uses then come from
prepull only).

With --json, prints one document when it stops: {ok, events: {ACTION: count}, outages,
lastEventAt, stateDir} (what this run recorded).

Options:
  --flush-interval DURATION    longest an event waits before the ledger is written (default 2s);
                               under load the ledger is written once per interval
  --metrics-interval DURATION  how often the metrics textfile is refreshed (default 1m)

Exit status:
  0        stopped by SIGTERM or SIGINT (the events pending are written first)
  2        bad input (usage, bad config), or another watch already runs on this state dir
  3        DOCKER_HOST names an address imagekeeper cannot speak to (ssh://, TLS); an
           unreachable daemon is not an exit: watch waits for it
  70       an internal error (e.g. the state dir not usable)
  130/143  a second SIGINT/SIGTERM while stopping: stop at once`;

const positive = durationMs.refine((ms) => ms > 0, "must be longer than zero");
const flagsSchema = z.object({
  "flush-interval": positive.optional(),
  "metrics-interval": positive.optional(),
});

export const watchCommand: CommandSpec = {
  name: "watch",
  summary: "record image uses from the engine's events (a long-running service)",
  help: HELP,
  options: { "flush-interval": { type: "string" }, "metrics-interval": { type: "string" } },
  ownsSignals: true,
  async run(ctx, values) {
    const f = parseFlags("watch", flagsSchema, values);
    const { config } = ctx;
    const log = logger();
    const engine = new Engine(dockerEndpoint(ctx.env));
    const lock = await lockWatch(config.stateDir);
    if (lock === "busy") {
      throw new InputError(
        "usage",
        `another imagekeeper watch is running on the state dir ${config.stateDir}`,
        {
          file: watchLockPath(config.stateDir),
          hint: "One watch per host is enough: stop the other one (systemctl stop imagekeeper-watch), or give this one its own stateDir.",
        },
      );
    }
    // Stopping is a normal end for a service: write what is pending, then exit 0. A second signal
    // stops at once.
    const stop = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      if (stop.signal.aborted) process.exit(sig === "SIGINT" ? 130 : 143);
      log.info({ signal: sig }, "watch: stopping; writing the events pending");
      stop.abort();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);

    const w = config.prune;
    const watermarks = {
      low: w.lowWatermarkPercent / 100,
      high: w.highWatermarkPercent / 100,
      critical: w.criticalWatermarkPercent / 100,
    };
    let root: string | undefined;
    let reported: WatchCounters = { events: {}, outages: 0, lastEventMs: null, connected: false };
    const onMetrics = config.metrics.textfile
      ? async (c: WatchCounters) => {
          let disk: DiskGaugeInput | null = null;
          try {
            root ??= (await engine.info()).DockerRootDir;
            const d = await measureDisk(root);
            disk = { at: new Date(), usageRatio: d.usedPercent / 100, watermarks };
          } catch (e) {
            log.debug({ err: (e as Error).message }, "watch: disk not measured for the metrics");
          }
          const eventsDelta = Object.fromEntries(
            Object.entries(c.events).map(([k, v]) => [k, v - (reported.events[k] ?? 0)]),
          );
          await recordWatchMetrics(
            config,
            {
              eventsDelta,
              outagesDelta: c.outages - reported.outages,
              lastEventSeconds: c.lastEventMs === null ? null : Math.floor(c.lastEventMs / 1000),
              connected: c.connected,
            },
            disk,
          );
          reported = c;
        }
      : undefined;

    let follower: Follower | undefined;
    try {
      follower = new Follower({
        engine,
        stateDir: config.stateDir,
        log,
        flushMs: f["flush-interval"] ?? 2000,
        metricsMs: f["metrics-interval"] ?? 60_000,
        ...(onMetrics ? { onMetrics } : {}),
        async record(change) {
          const r = await recordLedger(config.stateDir, change, { horizonMs: config.ledger.horizon });
          if (r.problem) log.warn({ problem: r.problem }, "the ledger was damaged: set aside and rebuilt");
        },
      });
      await follower.run(stop.signal);
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      lock.release();
    }
    log.info("watch: stopped");
    if (ctx.json) {
      const s = follower.summary();
      ctx.out(
        `${JSON.stringify({ ok: true, events: s.events, outages: s.outages, lastEventAt: s.lastSavedAt, stateDir: config.stateDir })}\n`,
      );
    }
    return { kind: "ok" };
  },
};
