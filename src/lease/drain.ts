// The drain: how a gap prune (src/prune/gap-prune.ts) gets the exclusive prune lock on a host
// whose runs keep leases live back to back. flock(2) has no writer preference: while any run holds
// lease.lock shared, new runs still get it shared, so a prune waiting for it exclusively could wait
// forever. A second lock file, drain.lock, orders them:
//   - a gap pruner holds drain.lock EXCLUSIVELY while it waits for lease.lock exclusively and while
//     it prunes; it releases lease.lock first, then drain.lock. One that finds another drain under
//     way waits for it SHARED, as the runs do, then measures again (most often the drain ahead made
//     room, and it goes on without a drain of its own): a command waits behind at most one drain;
//   - a new run holds drain.lock SHARED only while it takes lease.lock shared (enterGate), so it
//     waits behind an announced drain, and never holds drain.lock while it runs;
//   - a run that already holds a lease (a nested `imagekeeper run`, a command inside one, a
//     renewal) never touches drain.lock (callerHoldsLease).
// Why this cannot deadlock or starve, and what the bounds are: docs/leases.md, "The drain".
// drain.lock never grants anything by itself: lease.lock alone keeps prunes and runs apart, so a
// bug here could delay a run or a prune, never let a removal overlap a lease.
import { readdirSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { logger } from "../log.js";
import { formatDuration } from "../util/duration.js";
import { closeLockFile, lockFd, openRunDirLock } from "./flock.js";
import { type ExclusiveLock, type LeaseInfo, listLeases, tryExclusive } from "./lease.js";
import { readLeaseFile } from "./metadata.js";
import { identify } from "./proc.js";
import {
  discardPrepared,
  type Held,
  prepareRecord,
  publishRecord,
  readRecord,
  releaseHeld,
  unlinkIfSame,
} from "./records.js";
import { LEASE_ID_PATTERN } from "./rundir.js";

export const drainLockFile = (runDir: string) => path.join(runDir, "drain.lock");
/**
 * Who is draining (drain.<pid>.json), for the message of a run that waits, like exclusive.json; and
 * its existence is the gate's fast path (enterGate). One per drainer, so that a second drainer
 * waiting behind the first never replaces or removes the first one's.
 */
export const drainRecordFile = (runDir: string, pid: number) => path.join(runDir, `drain.${pid}.json`);
const DRAIN_RECORD = /^drain\.\d+\.json$/;

/** The drain records present (held or stale), by file name. */
function drainRecordNames(runDir: string): string[] {
  try {
    return readdirSync(runDir).filter((n) => DRAIN_RECORD.test(n));
  } catch {
    return []; // no run dir yet: nobody drains
  }
}

/** The environment variable `imagekeeper run` sets for its command: the id of the lease it holds. */
export const LEASE_ENV = "IMAGEKEEPER_LEASE";

const drainRecordSchema = z.strictObject({
  v: z.literal(1),
  pid: z.number().int().positive(),
  startTime: z.number().int().nonnegative(),
  bootId: z.string().min(1),
  since: z.iso.datetime(),
  what: z.string().max(200),
});
export type DrainRecord = z.output<typeof drainRecordSchema>;

/** Open (creating if needed) drain.lock, as lease.lock is opened (read-only, never through a symlink). */
function openDrainLock(runDir: string): number {
  return openRunDirLock(runDir, drainLockFile(runDir), "drain lock");
}

/** The live drain's record, if any (a record counts only while its holder keeps it locked). */
export async function liveDrainRecord(runDir: string): Promise<DrainRecord | undefined> {
  let live: DrainRecord | undefined;
  for (const name of drainRecordNames(runDir)) {
    const file = path.join(runDir, name);
    const r = await readRecord(file).catch(() => undefined);
    if (!r) continue;
    if (!r.held) {
      // A SIGKILLed drainer's: removed, so that runs take the gate's fast path again.
      unlinkIfSame(file, r.ino);
      continue;
    }
    const p = drainRecordSchema.safeParse(r.raw);
    if (p.success && (!live || p.data.since < live.since)) live = p.data;
  }
  return live;
}

const describeDrain = (d: DrainRecord | undefined) =>
  d ? `a gap prune (${d.what}, pid ${d.pid}, since ${d.since})` : "a gap prune";

/**
 * Does the caller already hold a live lease? `imagekeeper run` puts its lease id in the command's
 * environment (LEASE_ENV); a runner that uses `lease acquire` exports it itself. Such a caller must
 * never wait for drain.lock, nor drain: the drain would wait for the caller's own lease.
 */
export async function callerHoldsLease(runDir: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const id = env[LEASE_ENV];
  if (!id || !LEASE_ID_PATTERN.test(id)) return undefined;
  const f = await readLeaseFile(runDir, id).catch(() => undefined);
  return f?.held ? id : undefined;
}

export interface GatePass {
  /** How long the run waited for a drain, ms (0 when none was announced). */
  waitedMs: number;
  /** False when a drain was still announced after `waitMs`: the run goes ahead of it. */
  passed: boolean;
  /** Leave the gate (once the run's lease is taken). Idempotent. */
  leave(): void;
}

/**
 * The gate a new run passes before taking its shared lease: drain.lock shared, held while the
 * lease is taken, then left. While a gap prune has announced a drain, this waits for it (at most
 * `waitMs`, and it says so once). After `waitMs` the run goes ahead (passed: false): it then takes
 * its lease if the drainer is still only waiting for runs, and times out as before if a prune holds
 * the lease lock. Undefined when `signal` aborted the wait.
 */
export async function enterGate(
  runDir: string,
  opts: { waitMs: number; signal?: AbortSignal; what: string },
): Promise<GatePass | undefined> {
  // Fast path, no lock taken: no drain announced (drainers publish drain.<pid>.json before they take
  // drain.lock). Saves a run one flock(1) process on a host that is not draining.
  if (drainRecordNames(runDir).length === 0) return { waitedMs: 0, passed: true, leave: () => {} };
  const fd = openDrainLock(runDir);
  let open = true;
  const leave = () => {
    if (!open) return;
    open = false;
    closeLockFile(fd);
  };
  const sig = opts.signal ? { signal: opts.signal } : {};
  try {
    const first = await lockFd(fd, "shared", sig);
    if (first === "locked") {
      // Not draining now; a stale record (a SIGKILLed drainer) is cleaned up on the way.
      await liveDrainRecord(runDir);
      return { waitedMs: 0, passed: true, leave };
    }
    if (first === "aborted") {
      leave();
      return undefined;
    }
    const drain = await liveDrainRecord(runDir);
    const started = performance.now();
    logger().info(
      { runDir, drainPid: drain?.pid, drainSince: drain?.since, waitMs: opts.waitMs },
      `${opts.what}: ${describeDrain(drain)} is waiting for live runs to end, then prunes; this run waits behind it, up to ${formatDuration(opts.waitMs)} (lease.wait)`,
    );
    const second =
      opts.waitMs > 0
        ? await lockFd(fd, "shared", { waitMs: opts.waitMs, ...sig })
        : // Stryker disable next-line StringLiteral: only compared with "locked" and "aborted"; any other text reads as "busy"
          "busy";
    const waitedMs = Math.round(performance.now() - started);
    if (second === "locked") {
      logger().info(
        { waitedMs },
        `${opts.what}: the gap prune finished after ${formatDuration(waitedMs)}; proceeding`,
      );
      return { waitedMs, passed: true, leave };
    }
    leave();
    if (second === "aborted") return undefined;
    logger().warn(
      { waitedMs },
      `${opts.what}: the gap prune had not finished after ${formatDuration(opts.waitMs)}; going ahead of it`,
    );
    return { waitedMs, passed: false, leave };
  } catch (e) {
    leave();
    throw e;
  }
}

export type DrainResult =
  | {
      ok: true;
      /** The exclusive prune lock. release() drops it, then the drain (in that order). */
      lock: ExclusiveLock;
      waitedMs: number;
      /** The leases that were live when the drain began (what it waited for). */
      waitedFor: LeaseInfo[];
    }
  | { ok: false; why: "timeout" | "aborted"; waitedMs: number; leases: LeaseInfo[] }
  /** It waited behind another drain, and then `stillNeeded` said no: room was made. */
  | { ok: false; why: "not-needed"; waitedMs: number; leases: LeaseInfo[] };

/**
 * Announce a drain and take the exclusive prune lock once the live leases have ended: drain.lock
 * exclusively, then lease.lock exclusively (waiting for the runs), within `waitMs`. When another
 * drain is under way, first wait for it to end (drain.lock shared, at most `waitMs`, as the runs
 * at the gate wait: they and this drainer get in together, no drainer queues ahead of them), then
 * ask `stillNeeded` (the caller measures the disk again; the drain ahead pruned to its target);
 * if still needed, this drain's own waits get a fresh `waitMs`. So a drainer waits at most twice
 * `waitMs`, and behind at most one drain. `onWait` is told what is waited for (for the caller's
 * one-line messages).
 */
export async function drainAndLock(
  runDir: string,
  opts: {
    waitMs: number;
    signal?: AbortSignal;
    what: string;
    /** After waiting behind another drain: is this prune still needed? (Default: yes.) */
    stillNeeded?: () => Promise<boolean>;
    onWait?: (
      w: { for: "drain"; drain: DrainRecord | undefined } | { for: "leases"; leases: LeaseInfo[] },
    ) => void;
  },
): Promise<DrainResult> {
  const started = performance.now();
  let boundFrom = started;
  const left = () => Math.max(0, opts.waitMs - (performance.now() - boundFrom));
  const waited = () => Math.round(performance.now() - started);
  const sig = opts.signal ? { signal: opts.signal } : {};
  const fd = openDrainLock(runDir);
  let record: Held | undefined;
  const releaseDrain = () => {
    if (record) releaseHeld(record);
    record = undefined;
    closeLockFile(fd);
  };
  try {
    // The record first, then the lock: a run that does not see the record yet (enterGate's fast
    // path) is one this drain then waits for, like any run that came before it.
    record = await publishDrainRecord(runDir, opts.what);
    let r = await lockFd(fd, "exclusive", sig);
    if (r === "busy") {
      opts.onWait?.({ for: "drain", drain: await liveDrainRecord(runDir) });
      // Behind the drain under way, shared: an exclusive waiter here would let that drain's
      // successor in ahead of the runs waiting at the gate, and they would wait behind two.
      const behind = await lockFd(fd, "shared", { waitMs: left(), ...sig });
      if (behind !== "locked") {
        releaseDrain();
        return {
          ok: false,
          why: behind === "aborted" ? "aborted" : "timeout",
          waitedMs: waited(),
          leases: [],
        };
      }
      if (opts.stillNeeded && !(await opts.stillNeeded())) {
        releaseDrain();
        return { ok: false, why: "not-needed", waitedMs: waited(), leases: [] };
      }
      // Our own drain now, bounded afresh. Converting shared to exclusive is not atomic (flock(2)):
      // another drainer may get in first, and this one waits behind it for what is left.
      boundFrom = performance.now();
      r = await lockFd(fd, "exclusive", { waitMs: left(), ...sig });
    }
    if (r !== "locked") {
      releaseDrain();
      return { ok: false, why: r === "aborted" ? "aborted" : "timeout", waitedMs: waited(), leases: [] };
    }
    const live = await listLeases(runDir);
    if (live.length) opts.onWait?.({ for: "leases", leases: live });
    const ex = await tryExclusive(runDir, { waitMs: left(), ...sig });
    if (!ex.ok) {
      releaseDrain();
      return {
        ok: false,
        why: opts.signal?.aborted ? "aborted" : "timeout",
        waitedMs: waited(),
        leases: ex.leases,
      };
    }
    let released = false;
    const lock: ExclusiveLock = {
      ...ex.lock,
      async release() {
        if (released) return;
        released = true;
        // The prune lock first: runs waiting at the gate then find lease.lock free.
        await ex.lock.release();
        releaseDrain();
      },
    };
    return { ok: true, lock, waitedMs: waited(), waitedFor: live };
  } catch (e) {
    releaseDrain();
    throw e;
  }
}

async function publishDrainRecord(runDir: string, what: string): Promise<Held | undefined> {
  try {
    const me = identify(process.pid);
    if (!me) return undefined;
    const file = drainRecordFile(runDir, process.pid);
    const p = await prepareRecord(file);
    try {
      return publishRecord(p, file, {
        v: 1,
        ...me,
        since: new Date().toISOString(),
        what: what.slice(0, 200),
      } satisfies DrainRecord);
    } catch (e) {
      discardPrepared(p);
      throw e;
    }
  } catch (e) {
    logger().warn({ err: (e as Error).message }, "could not write the drain's record");
    return undefined;
  }
}
