// Carrying out a pull plan: `docker pull` through the subprocess choke point, at most N at once, one
// attempt per image at a time, transient failures retried with backoff inside the overall deadline,
// permanent ones failed at once. Cancellation (SIGINT/SIGTERM or the deadline) kills pulls in flight
// and marks what never started as not-attempted.
import { type Docker, dockerArgs } from "../docker/cli.js";
import type { Engine } from "../docker/engine.js";
import { InterruptedError } from "../errors.js";
import { logger } from "../log.js";
import { runLimited } from "../util/queue.js";
import { type BackoffPolicy, backoffDelay, sleep } from "./backoff.js";
import { attemptsFor, classify } from "./classify.js";
import type { PlannedImage } from "./plan.js";
import type { ErrorClass, ImageResult } from "./report.js";

export interface ExecuteOptions {
  docker: Docker;
  engine: Engine;
  concurrency: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  /** Deadline for the whole run, from now. */
  timeoutMs: number;
  signal: AbortSignal;
  onStart?: (img: PlannedImage, attempt: number) => void;
  onResult?: (r: ImageResult) => void;
  random?: () => number;
}

/** Failures that say something about the host or account, not the image: stop starting new pulls. */
const GLOBAL: ReadonlySet<ErrorClass> = new Set(["rate-limited", "daemon-unavailable", "disk-full"]);

class DeadlineError extends Error {}

export async function executePlan(plan: readonly PlannedImage[], o: ExecuteOptions): Promise<ImageResult[]> {
  const ac = new AbortController();
  const onOuter = () => ac.abort(o.signal.reason);
  if (o.signal.aborted) ac.abort(o.signal.reason);
  else o.signal.addEventListener("abort", onOuter, { once: true });
  const deadline = setTimeout(() => ac.abort(new DeadlineError("deadline")), o.timeoutMs);
  let stopReason: string | undefined;

  const base = (img: PlannedImage) => ({
    ref: img.ref,
    service: img.service,
    file: img.file,
    reason: img.reason,
    ...(img.alsoUsedBy.length ? { alsoUsedBy: img.alsoUsedBy } : {}),
  });

  const pullOne = async (img: PlannedImage): Promise<ImageResult> => {
    const started = Date.now();
    const elapsed = () => Math.round(Date.now() - started);
    if (img.action === "skip") {
      return {
        ...base(img),
        action: "present",
        attempts: 0,
        durationMs: 0,
        ...(img.presentId ? { id: img.presentId } : {}),
      };
    }
    let attempts = 0;
    let allowed = o.maxAttempts;
    for (;;) {
      if (ac.signal.aborted || stopReason) {
        if (attempts === 0) {
          return {
            ...base(img),
            action: "not-attempted",
            attempts: 0,
            durationMs: 0,
            ...(stopReason ? { error: stopReason } : {}),
          };
        }
      }
      if (ac.signal.aborted) return aborted(img, attempts, elapsed());
      attempts++;
      o.onStart?.(img, attempts);
      const r = await o.docker.run(dockerArgs.pull(img.ref), { signal: ac.signal });
      if (r.exitCode === 0) {
        const id = (await o.engine.inspectImage(img.ref).catch(() => undefined))?.Id;
        return { ...base(img), action: "pulled", attempts, durationMs: elapsed(), ...(id ? { id } : {}) };
      }
      if (r.aborted) return aborted(img, attempts, elapsed());
      const c = classify(`${r.stderr}\n${r.stdout}`);
      allowed = Math.min(allowed, attemptsFor(c.retry, o.maxAttempts));
      // The final failure is reported once, by the caller's image line; only retries are logged here.
      if (attempts >= allowed) {
        if (GLOBAL.has(c.cls)) stopReason = `not started: an earlier pull failed with ${c.cls}`;
        return {
          ...base(img),
          action: "failed",
          attempts,
          durationMs: elapsed(),
          errorClass: c.cls,
          error: c.message,
        };
      }
      const wait = backoffDelay(attempts + 1, o.backoff, o.random);
      logger().warn(
        { ref: img.ref, attempt: attempts, errorClass: c.cls, error: c.message, waitMs: wait },
        "pull failed; retrying after backoff",
      );
      try {
        await sleep(wait, ac.signal);
      } catch {
        return aborted(img, attempts, elapsed());
      }
    }
  };

  const aborted = (img: PlannedImage, attempts: number, durationMs: number): ImageResult => {
    const reason = ac.signal.reason;
    if (reason instanceof DeadlineError) {
      return {
        ...base(img),
        action: "failed",
        attempts,
        durationMs,
        errorClass: "timeout",
        error: `the prepull deadline (${o.timeoutMs} ms) passed during this pull`,
      };
    }
    const sig = reason instanceof InterruptedError ? reason.signal : "a signal";
    return { ...base(img), action: "failed", attempts, durationMs, error: `interrupted by ${sig}` };
  };

  try {
    // Skips first so the report fills in order; pulls run in plan order, N at a time.
    return await runLimited(plan, o.concurrency, async (img) => {
      const r = await pullOne(img);
      o.onResult?.(r);
      return r;
    });
  } finally {
    clearTimeout(deadline);
    o.signal.removeEventListener("abort", onOuter);
  }
}
