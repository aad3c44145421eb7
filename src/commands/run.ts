// `imagekeeper run [--wait DURATION] -- CMD…`: run CMD under a shared run lease, so no prune starts
// while it runs. imagekeeper stays CMD's parent for its whole life and is transparent: stdio is
// shared, SIGINT/SIGTERM/SIGHUP are forwarded to CMD's process group, and CMD's exit status is
// ours (a signal death as 128+n). The lease is imagekeeper's open lock descriptor (src/lease/).
import { z } from "zod";
import { CommandNotRunnableError, InputError } from "../errors.js";
import { run as exec, type SpawnedChild } from "../exec.js";
import { callerHoldsLease, enterGate, LEASE_ENV } from "../lease/drain.js";
import { startRunLease } from "../lease/run-lease.js";
import { logger } from "../log.js";
import { durationMs } from "../util/duration.js";
import { findExecutable } from "../util/executable.js";
import { exitStatus, signalStatus } from "../util/exit-status.js";
import { parseFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

const HELP = `Usage: imagekeeper run [--wait DURATION] -- CMD [ARG…]

Run CMD while holding a shared run lease: while any run lease is live, \`imagekeeper prune\` defers
and removes nothing. Any number of runs may hold leases at once.

If a prune is in progress when run starts, run waits for it to finish (at most --wait), then
starts CMD. A timer prune never waits for runs, so that wait is one prune's duration at most.

Prune in the gap: when the disk is at or above prune.highWatermarkPercent, run prunes before its
lease exists (prune.beforeRuns): it announces a drain (runs arriving now wait behind it, at most
their --wait), waits up to prune.gapWait for live runs to end, prunes by the normal policy, then
starts CMD. If the runs outlast prune.gapWait, CMD starts without a prune (a warning). Each wait
is logged once, with its reason and its bound. docs/prune.md, "Gap prunes".

CMD gets IMAGEKEEPER_LEASE=<lease id> in its environment: imagekeeper commands it runs (prepull,
a nested run) know they are inside this lease and never wait for it.

CMD is started directly (no shell), with imagekeeper's stdin, stdout, stderr and environment, in its
own process group. SIGINT, SIGTERM and SIGHUP sent to imagekeeper are forwarded to that process
group; imagekeeper exits with CMD's exit status, or 128+n when signal n killed it (like a shell).
When CMD exits, anything it left running in its process group is killed. If imagekeeper itself is
killed (even by SIGKILL) the lease ends at once and CMD receives SIGTERM (a parent-death signal).

Options:
  --wait DURATION  how long to wait for a prune in progress or another run's gap prune,
                   e.g. 90s, 10m (default: config lease.wait, 10m)
  --json           when run ends, print {ok, exitCode, signal?, started, leaseId?, waitedMs?,
                   durationMs?} as the LAST LINE OF STDERR: stdout is CMD's and stays untouched

Exit status:
  CMD's status   CMD ran (128+n if signal n killed it; 126/127 if CMD could not be executed)
  2              usage error (e.g. no CMD after --), bad config
  4              a prune still held the lock after --wait; CMD was not started
  70             the lease could not be taken (run dir not usable, flock or setpriv missing)
  128+n          signal n arrived while waiting; CMD was not started

Environment: IMAGEKEEPER_RUN_DIR (the run dir, default /run/imagekeeper), IMAGEKEEPER_CONFIG.
Example: imagekeeper run -- ./ci/test-recipe.sh nextcloud
See docs/leases.md.`;

const FlagsSchema = z.object({ wait: durationMs.optional() });

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export const runCommand: CommandSpec = {
  name: "run",
  summary: "run a command under a shared run lease (prune defers while it runs)",
  help: HELP,
  options: { wait: { type: "string" } },
  // Everything after `--` is CMD; anything else is a usage error, so CMD's own flags are never
  // mistaken for ours.
  positionals: false,
  ownsSignals: true,
  async run(ctx, values, argv) {
    const flags = parseFlags("run", FlagsSchema, values);
    if (argv.length === 0 || argv[0] === "") {
      throw new InputError("usage", "imagekeeper run: no command given", {
        hint: "Put the command after --, e.g. imagekeeper run -- ./ci.sh",
      });
    }
    const waitMs = flags.wait ?? ctx.config.lease.wait;
    // Before the lease: a typo reads as a typo (not as the exec helper's message), and nothing
    // waits for a prune to start a command that cannot start. 127/126, as a shell says it.
    const exe = findExecutable(argv[0]!, ctx.env.PATH ?? "");
    if (!exe.ok)
      throw new CommandNotRunnableError(
        `imagekeeper run: the command "${argv[0]}" ${exe.why}; nothing was run`,
        exe.status,
        exe.status === 127
          ? `Install it, fix the name, or give its path (PATH=${ctx.env.PATH ?? ""}).`
          : `Make it executable for this user (chmod +x), or run it through its interpreter (imagekeeper run -- sh ${argv[0]}).`,
      );
    // --json: one document once run ends, through ctx.out (stderr for run: its stdout is CMD's).
    const done = (code: number, more: Record<string, unknown>) => {
      if (ctx.json) ctx.out(`${JSON.stringify({ ok: code === 0, exitCode: code, ...more })}\n`);
      return { kind: "child-exit", code } as const;
    };

    // Signals are ours from the start: before CMD exists one cancels the wait (and CMD never
    // starts); after, each is forwarded. A second Ctrl-C is forwarded too: CMD decides.
    const cancelWait = new AbortController();
    let pending: NodeJS.Signals | undefined;
    let child: SpawnedChild | undefined;
    const onSignal = (sig: NodeJS.Signals) => {
      if (child) {
        logger().debug({ signal: sig, pid: child.pid }, "forwarding signal");
        child.signal(sig);
        return;
      }
      pending ??= sig;
      cancelWait.abort();
    };
    for (const sig of FORWARDED) process.on(sig, onSignal);
    const stopped = () =>
      done(signalStatus(pending ?? "SIGTERM"), { signal: pending ?? "SIGTERM", started: false });
    try {
      // Room first (docs/prune.md, "Gap prunes"): with the disk at the high watermark, drain the
      // host and prune before this run's lease exists. Never fatal; loaded only when enabled.
      if (ctx.config.prune.beforeRuns) {
        const { gapPrune } = await import("../prune/gap-prune.js");
        const gap = await gapPrune(ctx, {
          what: "imagekeeper run",
          before: "the run starts",
          incomingBytes: 0,
          reserved: [],
          signal: cancelWait.signal,
        });
        if (gap.kind === "aborted" || pending) return stopped();
      }
      // A run inside another run's lease never waits at the drain gate (the drain may be waiting
      // for that very lease: docs/leases.md, "The drain").
      const { runDir } = ctx.config;
      const inside = await callerHoldsLease(runDir, ctx.env);
      const gate = inside
        ? undefined
        : await enterGate(runDir, { waitMs, signal: cancelWait.signal, what: "imagekeeper run" });
      if (!inside && !gate) return stopped();
      let lease: Awaited<ReturnType<typeof startRunLease>>;
      try {
        lease = await startRunLease(runDir, {
          command: argv,
          waitMs: Math.max(0, waitMs - (gate?.waitedMs ?? 0)),
          signal: cancelWait.signal,
        });
      } finally {
        gate?.leave();
      }
      if (!lease) return stopped();
      try {
        if (pending)
          return done(signalStatus(pending), { signal: pending, started: false, leaseId: lease.id });
        logger().debug({ id: lease.id, argv }, "run lease held; starting the command");
        // setpriv (util-linux, like flock) sets a parent-death signal and execs CMD: if imagekeeper
        // is SIGKILLed, the lease ends with it, and CMD is told to stop rather than carry on
        // unprotected. prctl(2) PR_SET_PDEATHSIG.
        const r = await exec("setpriv", ["--pdeathsig", "TERM", "--", ...argv], {
          inheritStdio: true,
          // Commands inside the run know they hold this lease (no gap prune or drain wait for it).
          env: { [LEASE_ENV]: lease.id },
          onSpawn: (c) => {
            child = c;
            if (pending) c.signal(pending);
          },
        });
        return done(exitStatus(r.exitCode, r.signal), {
          ...(r.signal ? { signal: r.signal } : {}),
          started: true,
          leaseId: lease.id,
          waitedMs: lease.waitedMs,
          durationMs: r.durationMs,
        });
      } finally {
        lease.release();
        logger().debug({ id: lease.id }, "run lease released");
      }
    } finally {
      for (const sig of FORWARDED) process.off(sig, onSignal);
    }
  },
};
