// A modelled host for unit tests of the prune executor (src/prune/execute.ts): a disk whose usage
// falls by each image's bytes when docker removes it, and a docker that records every argv, obeys
// `image rm` / `image prune` / `builder prune` against that model, and can refuse a removal. Every
// ExecuteDeps the executor needs is built here, in one place, so a change to ExecuteDeps is adapted
// once. (Unit tests only: the real engine is what the integration tests use.)
import { pino } from "pino";
import type { Docker } from "../../src/docker/cli.js";
import type { RunOptions, RunResult } from "../../src/exec.js";
import type { ExecuteDeps } from "../../src/prune/execute.js";
import type { DiskUsage } from "../../src/prune/measure.js";
import type { PlannedImage, PrunePlan } from "../../src/prune/plan.js";

export interface ModelImage {
  /** Bytes the filesystem gets back when the image goes. */
  bytes: number;
  /** Untagged: `docker image prune` takes it (when `pruneTakes` is not false). */
  dangling?: boolean;
  /** `docker image prune` leaves it (its build time is younger than until=). */
  pruneLeaves?: boolean;
  /** Used since the plan was made: what protectionNow says about it. */
  usedNow?: string;
  /** docker refuses `image rm` for it with this stderr line. */
  refuse?: string;
}

export interface Call {
  argv: string[];
  input: string | undefined;
  timeoutMs: number | undefined;
  signal: boolean;
  /** The child is never killed (it holds the prune lock until the daemon answers). */
  runToCompletion: boolean;
  /** Descriptors the child inherits (the prune lock's). */
  fds: readonly number[];
}

export interface World {
  capacity: number;
  used: number;
  images: Map<string, ModelImage>;
  buildCacheBytes: number;
  calls: Call[];
  /** Every measure() result, in order. */
  measures: number[];
  pruneExit: number;
  /** Abort this controller when the n-th docker call (1-based) returns. */
  abortAfterCall: number | null;
  /** rm exits with this (and no stderr) when it refuses, instead of docker's message. */
  silentRefusalExit: number | null;
  controller: AbortController;
}

export function world(capacity: number, used: number, images: Record<string, ModelImage>): World {
  return {
    capacity,
    used,
    images: new Map(Object.entries(images)),
    buildCacheBytes: 0,
    calls: [],
    measures: [],
    pruneExit: 0,
    abortAfterCall: null,
    silentRefusalExit: null,
    controller: new AbortController(),
  };
}

export function usage(w: World): DiskUsage {
  return {
    path: "/var/lib/docker",
    totalBytes: w.capacity,
    usedBytes: w.used,
    freeBytes: w.capacity - w.used,
    usedPercent: (w.used / w.capacity) * 100,
  };
}

function result(argv: string[], exitCode: number, stderr = ""): RunResult {
  return {
    argv,
    exitCode,
    signal: undefined,
    stdout: "",
    stderr,
    durationMs: 1,
    timedOut: false,
    aborted: false,
  };
}

function remove(w: World, id: string): void {
  const img = w.images.get(id);
  if (!img) return;
  w.used -= img.bytes;
  w.images.delete(id);
}

function fakeDocker(w: World): Docker {
  return {
    binary: "docker",
    async run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
      w.calls.push({
        argv: [...args],
        input: opts.input,
        timeoutMs: opts.timeoutMs,
        signal: opts.signal !== undefined,
        runToCompletion: opts.runToCompletion === true,
        fds: opts.fds ?? [],
      });
      const r = ((): RunResult => {
        const [a, b, ...rest] = args;
        if (a === "image" && b === "rm") {
          const errors: string[] = [];
          for (const id of rest) {
            const img = w.images.get(id);
            if (img?.refuse) errors.push(img.refuse);
            else remove(w, id);
          }
          if (!errors.length) return result(args, 0);
          return w.silentRefusalExit !== null
            ? result(args, w.silentRefusalExit)
            : // docker's stderr as it comes: a blank line, then indented messages.
              result(args, 1, `   \n  ${errors.join("\n  ")}  \n`);
        }
        if (a === "image" && b === "prune") {
          if (w.pruneExit !== 0)
            return result(args, w.pruneExit, "Error response from daemon: prune failed\n");
          for (const [id, img] of [...w.images]) if (img.dangling && !img.pruneLeaves) remove(w, id);
          return result(args, 0);
        }
        if (a === "builder" && b === "prune") {
          w.used -= w.buildCacheBytes;
          w.buildCacheBytes = 0;
          return result(args, 0);
        }
        throw new Error(`the model has no docker ${args.join(" ")}`);
      })();
      if (w.abortAfterCall === w.calls.length) w.controller.abort(new Error("interrupted"));
      return r;
    },
  };
}

/** The executor's dependencies over the model. */
export function fakeDeps(w: World, opts: { signal?: boolean; lockFd?: number } = {}): ExecuteDeps {
  return {
    docker: fakeDocker(w),
    measure: async () => {
      w.measures.push(w.used);
      return usage(w);
    },
    exists: async (id) => w.images.has(id),
    protectionNow: async () => (img) => w.images.get(img.id)?.usedNow ?? null,
    log: pino({ level: "silent" }),
    ...(opts.signal ? { signal: w.controller.signal } : {}),
    ...(opts.lockFd !== undefined ? { lockFd: opts.lockFd } : {}),
  };
}

/** A removable image as the planner would list it. */
export function planned(
  id: string,
  sizeBytes: number,
  phase: "dangling" | "tagged",
  order: number,
): PlannedImage {
  return {
    id,
    ref: phase === "dangling" ? "<none>:<none>" : `app/${id}:1`,
    names: [phase === "dangling" ? "<none>:<none>" : `app/${id}:1`],
    sizeBytes,
    lastUse: "2024-01-01T00:00:00.000Z",
    lastUseSource: "ledger",
    action: "remove",
    code: phase === "dangling" ? "dangling" : "lru",
    reason: "test",
    order,
    phase,
    predictedNextUse: null,
    rmArgs: [id],
  };
}

/** A plan that proceeds, removing `removable` in the order given (dangling ones first). */
export function plan(
  w: World,
  removable: PlannedImage[],
  dangling: PrunePlan["dangling"]["method"],
): PrunePlan {
  return {
    gate: { proceed: true, level: "routine", reason: "test" },
    outcome: "pruned",
    before: usage(w),
    targetBytes: 0,
    incomingBytes: 0,
    removable,
    kept: [],
    expectedRemovals: removable.length,
    dangling: { method: dangling, why: "test" },
  };
}
