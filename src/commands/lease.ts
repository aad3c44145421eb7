// `imagekeeper lease acquire` and `imagekeeper lease release`: run leases for CI runners that
// cannot wrap a job in one process (setup and teardown steps run separately). The lease outlives
// the CLI, held by a detached holder process until release or until its TTL ends
// (src/lease/acquired.ts).
import { readFileSync } from "node:fs";
import { z } from "zod";
import { InputError, InterruptedError } from "../errors.js";
import { acquireLease, releaseLease } from "../lease/acquired.js";
import { callerHoldsLease, enterGate } from "../lease/drain.js";
import { checkLeaseId, newLeaseId } from "../lease/ids.js";
import { readLeaseFile } from "../lease/metadata.js";
import { human, logger } from "../log.js";
import { durationMs, formatDuration } from "../util/duration.js";
import { parseFlags } from "./flags.js";
import type { CommandSpec } from "./types.js";

const ACQUIRE_HELP = `Usage: imagekeeper lease acquire [--ttl DURATION] [--id ID] [--wait DURATION] [--label TEXT]

Take a shared run lease that stays held after this command exits, and print its id on stdout.
While it is held, \`imagekeeper prune\` defers. It ends with \`imagekeeper lease release ID\` or
when its TTL runs out, whichever comes first: the TTL bounds a runner that crashes before
releasing. For a job that is one process, prefer \`imagekeeper run -- CMD\`.

If a prune is in progress, acquire waits for it (at most --wait) before taking the lease.
Acquiring an id that is already held renews it: a new TTL from now, never unheld in between.

Like \`imagekeeper run\`, acquire first prunes in the gap when the disk is at or above the high
watermark (prune.beforeRuns; docs/prune.md, "Gap prunes"). Later steps of the job that call
imagekeeper (a prepull before an upgrade) should know they are inside the lease, or their gap
prune waits for it: export IMAGEKEEPER_LEASE=ID after acquiring.

The lease is held by a small detached process (\`sleep TTL\`, in its own session), so it must run
where it may outlive the CI step: on the host, not in a container removed after the step.

Options:
  --ttl DURATION   how long the lease may live at most, e.g. 45m, 2h (default: config
                   lease.ttl, 6h)
  --id ID          the lease id, e.g. the CI job id (1-64 of A-Z a-z 0-9 . _ -, not starting
                   with .); default: a generated lease-XXXXXXXXXXXX
  --wait DURATION  how long to wait for a prune in progress (default: config lease.wait, 10m)
  --label TEXT     what the lease is for, shown by imagekeeper status (default: the caller's
                   command name and pid)
  --json           print {ok, id, holderPid, expiresAt, ttlMs, renewed} instead of the bare id

Exit status:
  0        held (id printed)
  2        usage error, bad config
  4        a prune still held the lock after --wait
  70       the lease could not be taken (run dir not usable, flock or sleep missing, the id's
           record belongs to another user)
  130/143  interrupted by SIGINT/SIGTERM while waiting for a prune

Example:
  id=$(imagekeeper lease acquire --ttl 2h --id "job-$CI_JOB_ID")
  export IMAGEKEEPER_LEASE="$id"
  …deploy and test…
  imagekeeper lease release "$id"
See docs/leases.md.`;

const RELEASE_HELP = `Usage: imagekeeper lease release ID

End a lease taken with \`imagekeeper lease acquire\`: its holder process is stopped and the lock is
released before this command returns.

Idempotent: an id that is unknown, already released or expired is reported as a warning and exits
0, so a cleanup step that runs twice, or after the TTL, does not fail the job. A lease held by
\`imagekeeper run\` cannot be released here: it ends with its command.

Options:
  --json   print {ok, id, result: released|expired|not-found}

Only a process proven to be the lease's holder is ever signalled: the pid, start time and boot id
recorded, running as the owner of the lease's record, and holding the record and the lease lock
open. A record alone (anyone in the run dir's group can write one) never makes this command
signal anything.

Exit status:
  0        released, or nothing to release
  2        usage error (a malformed id, a run's lease), bad config
  70       the holder could not be stopped or not proven to be the holder (e.g. it belongs to
           another user: release as the user that acquired it, or as root)
  130/143  interrupted by SIGINT/SIGTERM
See docs/leases.md.`;

const TTL_MAX_MS = 30 * 86_400_000;

const AcquireFlags = z.object({
  ttl: durationMs
    .pipe(z.number().min(1000, "must be at least 1s").max(TTL_MAX_MS, "must be at most 30d"))
    .optional(),
  id: z.string().optional(),
  wait: durationMs.optional(),
  label: z.string().max(200, "must be at most 200 characters").optional(),
});

/** The default label: who asked (our parent process, usually the runner's shell). */
function callerLabel(): string {
  let comm = "unknown";
  try {
    comm = readFileSync(`/proc/${process.ppid}/comm`, "utf8").trim();
  } catch {
    // The parent is gone already: the pid alone still helps.
  }
  return `lease acquire by ${comm} (pid ${process.ppid})`;
}

export const leaseAcquireCommand: CommandSpec = {
  name: "lease acquire",
  summary: "take a run lease for runners that cannot wrap a process",
  help: ACQUIRE_HELP,
  options: {
    ttl: { type: "string" },
    id: { type: "string" },
    wait: { type: "string" },
    label: { type: "string" },
  },
  async run(ctx, values) {
    const flags = parseFlags("lease acquire", AcquireFlags, values);
    const id = flags.id === undefined ? newLeaseId("lease") : checkLeaseId(flags.id, "lease acquire");
    const ttlMs = flags.ttl ?? ctx.config.lease.ttl;
    const waitMs = flags.wait ?? ctx.config.lease.wait;
    const { runDir } = ctx.config;
    const interrupted = () => {
      const reason = ctx.signal.reason;
      return reason instanceof InterruptedError ? reason : new InterruptedError("SIGTERM");
    };
    // A renewal, or an acquire inside another lease, already holds a lease: no gap prune, no wait
    // at the drain gate (either would wait for that very lease: docs/leases.md, "The drain").
    const renewal = (await readLeaseFile(runDir, id).catch(() => undefined))?.held === true;
    const inside = renewal ? id : await callerHoldsLease(runDir, ctx.env);
    if (!inside && ctx.config.prune.beforeRuns) {
      const { gapPrune } = await import("../prune/gap-prune.js");
      const gap = await gapPrune(ctx, {
        what: "imagekeeper lease acquire",
        before: "the lease is taken",
        incomingBytes: 0,
        reserved: [],
        signal: ctx.signal,
      });
      if (gap.kind === "aborted") throw interrupted();
    }
    const gate = inside
      ? undefined
      : await enterGate(runDir, { waitMs, signal: ctx.signal, what: "imagekeeper lease acquire" });
    if (!inside && !gate) throw interrupted();
    let got: Awaited<ReturnType<typeof acquireLease>>;
    try {
      got = await acquireLease(runDir, {
        id,
        ttlMs,
        waitMs: Math.max(0, waitMs - (gate?.waitedMs ?? 0)),
        command: flags.label ?? callerLabel(),
        signal: ctx.signal,
      });
    } finally {
      gate?.leave();
    }
    if (!got) throw interrupted();
    logger().info(
      human({ id: got.id, holderPid: got.pid, expiresAt: got.expiresAt, ttl: formatDuration(ttlMs) }, [
        "id",
        "ttl",
        "expiresAt",
      ]),
      got.renewed ? "lease renewed" : "lease acquired",
    );
    ctx.out(
      ctx.json
        ? `${JSON.stringify({ ok: true, id: got.id, holderPid: got.pid, expiresAt: got.expiresAt, ttlMs, renewed: got.renewed })}\n`
        : `${got.id}\n`,
    );
    return { kind: "ok" };
  },
};

export const leaseReleaseCommand: CommandSpec = {
  name: "lease release",
  summary: "release a run lease taken with lease acquire",
  help: RELEASE_HELP,
  options: {},
  positionals: true,
  async run(ctx, _values, positionals) {
    if (positionals.length !== 1) {
      throw new InputError("usage", "imagekeeper lease release: give exactly one lease id", {
        hint: "Pass the id that imagekeeper lease acquire printed: imagekeeper lease release ID",
      });
    }
    const id = checkLeaseId(positionals[0]!, "lease release");
    const r = await releaseLease(ctx.config.runDir, id);
    if (r === "released") logger().info({ id }, "lease released");
    else
      logger().warn(
        { id, runDir: ctx.config.runDir },
        r === "expired"
          ? `lease ${id} had already ended (TTL expired or holder gone); nothing to release`
          : `no lease ${id} in ${ctx.config.runDir} (already released, expired, or never taken); nothing to release`,
      );
    if (ctx.json) ctx.out(`${JSON.stringify({ ok: true, id, result: r })}\n`);
    return { kind: "ok" };
  },
};
