// Exponential backoff with "equal jitter" (half fixed, half random): concurrent CI hosts that hit
// the same registry fault do not retry in lockstep, and no delay collapses to zero.
// https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** Delay before attempt `next` (2 = the first retry). `random` in [0, 1). */
export function backoffDelay(next: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const exp = Math.min(p.capMs, p.baseMs * 2 ** Math.max(0, next - 2));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** Sleep that ends early (rejecting with the signal's reason) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
