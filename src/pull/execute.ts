// Carrying out a pull plan: each pull is a POST /images/create over the daemon socket with the
// pulling user's credentials (X-Registry-Auth), at most N at once, one attempt per image at a time,
// transient failures retried with backoff inside the overall deadline, permanent ones failed at
// once. The progress stream is folded per image (src/pull/progress.ts) for the progress callback
// and the report's waitMs/pullMs/bytes. Cancellation (SIGINT/SIGTERM or the deadline) closes the
// connections of pulls in flight, which makes the daemon cancel them, and marks what never started
// as not-attempted.
import type { Engine } from "../docker/engine.js";
import { ConnectError } from "../docker/http10.js";
import { InterruptedError } from "../errors.js";
import { logger } from "../log.js";
import { runLimited } from "../util/queue.js";
import { type BackoffPolicy, backoffDelay, sleep } from "./backoff.js";
import { attemptsFor, classify } from "./classify.js";
import type { PlannedImage } from "./plan.js";
import { finishFold, foldLine, newFold, type PullFold, type PullProgress, progressOf } from "./progress.js";
import type { ErrorClass, ImageResult } from "./report.js";
import { presentResult, resultBase } from "./results.js";

export interface ExecuteOptions {
  engine: Engine;
  /** The X-Registry-Auth header for an image's registry (undefined: anonymous). */
  registryAuth: (img: PlannedImage) => Promise<string | undefined>;
  concurrency: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  /** Deadline for the whole run, from now. */
  timeoutMs: number;
  signal: AbortSignal;
  onStart?: (img: PlannedImage, attempt: number) => void;
  /** Called with every progress message of a pull in flight (for a renderer; keep it cheap). */
  onProgress?: (img: PlannedImage, progress: PullProgress) => void;
  onResult?: (r: ImageResult) => void;
  random?: () => number;
  now?: () => number;
}

/** Failures that say something about the host or account, not the image: stop starting new pulls. */
const GLOBAL: ReadonlySet<ErrorClass> = new Set(["rate-limited", "daemon-unavailable", "disk-full"]);

class DeadlineError extends Error {}

/** `fromImage` and `tag` of POST /images/create: the name, and the digest if any, else the tag. */
export function pullTarget(img: Pick<PlannedImage, "parsed">): { name: string; tag: string } {
  const p = img.parsed;
  const name = p.domain === "docker.io" ? p.path.replace(/^library\//, "") : `${p.domain}/${p.path}`;
  return { name, tag: p.digest ?? p.tag ?? "latest" };
}

/** The daemon's error document ({"message": …}) of a non-2xx answer, as text. */
export function apiErrorText(status: number, body: string): string {
  try {
    const j = JSON.parse(body) as { message?: unknown };
    if (typeof j.message === "string") return j.message;
  } catch {
    // not JSON: use the text
  }
  return body.trim() || `the daemon answered ${status}`;
}

export type Attempt =
  | { kind: "ok"; upToDate: boolean; digest: string | undefined; fold: PullFold }
  /** `text`: the daemon's error (a non-2xx answer's message, or the stream's error line). */
  | { kind: "failed"; text: string; fold: PullFold }
  | { kind: "aborted"; fold: PullFold };

/**
 * One pull through the Engine API, folded. Aborting `signal` closes the connection (the daemon
 * cancels the pull) and gives `aborted`.
 */
export async function pullAttempt(
  engine: Engine,
  target: { name: string; tag: string },
  o: {
    registryAuth?: string | undefined;
    signal: AbortSignal;
    now?: () => number;
    onLine?: (line: string) => void;
    onProgress?: (p: PullProgress) => void;
  },
): Promise<Attempt> {
  const now = o.now ?? Date.now;
  const fold = newFold(now());
  try {
    const r = await engine.pullImage(target.name, target.tag, {
      registryAuth: o.registryAuth,
      signal: o.signal,
      onLine: (line) => {
        o.onLine?.(line);
        foldLine(fold, line, now());
        o.onProgress?.(progressOf(fold, now()));
      },
    });
    finishFold(fold, now());
    if (o.signal.aborted) return { kind: "aborted", fold };
    if (r.status < 200 || r.status >= 300)
      return { kind: "failed", text: apiErrorText(r.status, r.body), fold };
    if (fold.error !== undefined) return { kind: "failed", text: fold.error, fold };
    // Every pull the daemon finishes ends with a "Status: …" line; a stream that stops without
    // one was cut (the daemon restarted, a proxy in between gave up).
    if (fold.outcome === undefined)
      return {
        kind: "failed",
        text: "the daemon's pull stream ended before the pull finished: unexpected EOF",
        fold,
      };
    return { kind: "ok", upToDate: fold.outcome === "up-to-date", digest: fold.digest, fold };
  } catch (e) {
    finishFold(fold, now());
    if (o.signal.aborted) return { kind: "aborted", fold };
    const code = e instanceof ConnectError ? e.code : undefined;
    // Worded as the docker client words it, so the classifier's daemon-unavailable rule applies.
    return {
      kind: "failed",
      text: `Cannot connect to the Docker daemon at ${engine.describe()}: ${code ?? (e as Error).message}`,
      fold,
    };
  }
}

export async function executePlan(plan: readonly PlannedImage[], o: ExecuteOptions): Promise<ImageResult[]> {
  const now = o.now ?? Date.now;
  const ac = new AbortController();
  const onOuter = () => ac.abort(o.signal.reason);
  // An AbortSignal fires "abort" once at most, and the finally below removes the listener: `once`
  // only shortens the life of a listener that can never run again.
  // Stryker disable ObjectLiteral,BooleanLiteral: `once` changes nothing observable (see above)
  if (o.signal.aborted) ac.abort(o.signal.reason);
  else o.signal.addEventListener("abort", onOuter, { once: true });
  // Stryker restore ObjectLiteral,BooleanLiteral
  // Stryker disable next-line StringLiteral: the DeadlineError's message is never read (aborted() checks its class and words the error itself)
  const deadline = setTimeout(() => ac.abort(new DeadlineError("deadline")), Math.max(0, o.timeoutMs));
  let stopReason: string | undefined;

  const base = resultBase;

  const attempt = async (img: PlannedImage): Promise<Attempt> => {
    let registryAuth: string | undefined;
    try {
      registryAuth = await o.registryAuth(img);
    } catch (e) /* Stryker disable next-line BlockStatement: it only logs; the pull goes anonymous without it too */ {
      // A damaged docker config: the pull goes anonymous and the registry says what is missing.
      logger().warn({ ref: img.ref, problem: (e as Error).message }, "no credentials for this pull");
    }
    return pullAttempt(o.engine, pullTarget(img), {
      registryAuth,
      signal: ac.signal,
      now,
      ...(o.onProgress ? { onProgress: (p: PullProgress) => o.onProgress?.(img, p) } : {}),
    });
  };

  const pullOne = async (img: PlannedImage): Promise<ImageResult> => {
    const started = now();
    const elapsed = () => Math.round(now() - started);
    if (img.action === "skip") return presentResult(img);
    let attempts = 0;
    let allowed = o.maxAttempts;
    let waitMs = 0;
    let pullMs = 0;
    let bytes = 0;
    const timing = () => ({ waitMs: Math.round(waitMs), pullMs: Math.round(pullMs), bytes });
    for (;;) {
      if ((ac.signal.aborted || stopReason) && attempts === 0) {
        return {
          ...base(img),
          action: "not-attempted",
          attempts: 0,
          durationMs: 0,
          ...(stopReason ? { error: stopReason } : {}),
        };
      }
      if (ac.signal.aborted) return aborted(img, attempts, elapsed(), timing());
      attempts++;
      o.onStart?.(img, attempts);
      const t0 = now();
      const a = await attempt(img);
      const p = progressOf(a.fold, now());
      waitMs += p.waitingMs;
      pullMs += Math.max(0, now() - t0 - p.waitingMs);
      bytes += p.bytesDone;
      if (a.kind === "ok") {
        const id = (await o.engine.inspectImage(img.ref).catch(() => undefined))?.Id;
        const digest = a.digest ?? img.digest;
        return {
          ...base(img),
          // The daemon found nothing to change: the image was present after all (checked, not pulled).
          action: a.upToDate ? "present" : "pulled",
          ...(a.upToDate ? { reason: `${img.reason}; checked: up to date` } : {}),
          attempts,
          durationMs: elapsed(),
          ...(id ? { id } : {}),
          ...(digest ? { digest } : {}),
          ...timing(),
        };
      }
      if (a.kind === "aborted") return aborted(img, attempts, elapsed(), timing());
      const c = classify(a.text);
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
          ...timing(),
        };
      }
      const wait = backoffDelay(attempts + 1, o.backoff, o.random);
      logger().warn(
        { ref: img.ref, attempt: attempts, errorClass: c.cls, error: c.message, waitMs: wait },
        "pull failed; retrying after backoff",
      );
      try {
        await sleep(wait, ac.signal);
        // sleep rejects only when ac.signal aborts; without this block the loop's next turn returns
        // the same aborted() result.
      } catch /* Stryker disable next-line BlockStatement: the same result without it (see above) */ {
        return aborted(img, attempts, elapsed(), timing());
      }
    }
  };

  const aborted = (
    img: PlannedImage,
    attempts: number,
    durationMs: number,
    timing: { waitMs: number; pullMs: number; bytes: number },
  ): ImageResult => {
    const reason = ac.signal.reason;
    if (reason instanceof DeadlineError) {
      return {
        ...base(img),
        action: "failed",
        attempts,
        durationMs,
        errorClass: "timeout",
        error: `the prepull deadline (${o.timeoutMs} ms) passed during this pull`,
        ...timing,
      };
    }
    const sig = reason instanceof InterruptedError ? reason.signal : "a signal";
    return {
      ...base(img),
      action: "failed",
      attempts,
      durationMs,
      errorClass: "interrupted",
      error: `interrupted by ${sig}`,
      ...timing,
    };
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
