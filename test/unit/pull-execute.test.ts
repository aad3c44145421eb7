// The pull executor's decisions, with its engine passed in: the pull target of a reference, the
// daemon's error text, one attempt's outcome from the status and the stream, and across attempts:
// retries by class, the stop after a host-wide failure, what never started, the deadline and an
// interrupt, and the report fields (id, digest, timing). Against the real daemon:
// test/integration/prepull*.itg.test.ts.
import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Engine } from "../../src/docker/engine.js";
import { ConnectError } from "../../src/docker/http10.js";
import { InterruptedError } from "../../src/errors.js";
import { parseReference } from "../../src/model/reference.js";
import { apiErrorText, executePlan, pullAttempt, pullTarget } from "../../src/pull/execute.js";
import type { PlannedImage } from "../../src/pull/plan.js";
import { plannedImage } from "../support/planned-image.js";
import type { ImageResult } from "../../src/pull/report.js";

const parsed = (ref: string) => {
  const p = parseReference(ref);
  if (!p.ok) throw new Error(p.reason);
  return p.ref;
};
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

const image = (ref: string, over: Partial<PlannedImage> = {}): PlannedImage =>
  plannedImage(ref, { service: `svc-${ref}`, ...over });

const line = (o: object) => JSON.stringify(o);
const DOWNLOADED = [
  line({ status: `Digest: ${D1}` }),
  line({ status: "Status: Downloaded newer image for x" }),
];
const UP_TO_DATE = [line({ status: `Digest: ${D1}` }), line({ status: "Status: Image is up to date for x" })];

/** What one pull call does: answer with a status and stream lines, throw, or wait for the abort. */
type Step =
  { status?: number; body?: string; lines?: string[] } | { throws: Error } | { hang: true; lines?: string[] };

interface PullCall {
  name: string;
  tag: string;
  registryAuth: string | undefined;
}

/** An engine whose pulls follow `script[name]`, one step per attempt (the last one repeats). */
function fakeEngine(script: Record<string, Step[]>, ids: Record<string, string> = {}) {
  const calls: PullCall[] = [];
  const engine = {
    describe: () => "unix:///run/docker.sock",
    inspectImage: async (ref: string) => (ids[ref] ? { Id: ids[ref] } : undefined),
    pullImage: async (
      name: string,
      tag: string,
      opts: { registryAuth?: string | undefined; signal?: AbortSignal; onLine: (l: string) => void },
    ) => {
      const mine = calls.filter((c) => c.name === name).length;
      calls.push({ name, tag, registryAuth: opts.registryAuth });
      const steps = script[name] ?? [{ lines: DOWNLOADED }];
      const step = steps[Math.min(mine, steps.length - 1)]!;
      if ("throws" in step) throw step.throws;
      for (const l of step.lines ?? []) opts.onLine(l);
      if ("hang" in step) {
        await new Promise<void>((resolve) => {
          if (opts.signal?.aborted) resolve();
          opts.signal?.addEventListener("abort", () => resolve(), { once: true });
        });
        return { status: 0, body: "" };
      }
      return { status: step.status ?? 200, body: step.body ?? "" };
    },
  };
  return { engine: engine as unknown as Engine, calls };
}

describe("pullTarget: fromImage and tag of POST /images/create", () => {
  it.each([
    ["nginx:1.25", "nginx", "1.25"],
    ["docker.io/library/nginx:1.25", "nginx", "1.25"],
    ["nginx", "nginx", "latest"],
    // On Docker Hub too, only a leading library/ goes.
    ["someone/library/x:3", "someone/library/x", "3"],
    ["bitnami/redis:7", "bitnami/redis", "7"],
    // Only a leading library/ goes: a repository with "library/" inside keeps it.
    ["r.example/library/x:1", "r.example/library/x", "1"],
    ["r.example:5000/a/b:2", "r.example:5000/a/b", "2"],
    [`r.example/a@${D1}`, "r.example/a", D1],
    // The digest beats the tag beside it.
    [`nginx:1.25@${D1}`, "nginx", D1],
  ])("%s → %s %s", (ref, name, tag) => {
    expect(pullTarget({ parsed: parsed(ref) })).toEqual({ name, tag });
  });
});

describe("apiErrorText: the daemon's error document as text", () => {
  it.each([
    [404, '{"message":"manifest for x:1 not found"}', "manifest for x:1 not found"],
    [500, '{"message":""}', ""],
    [500, '{"message":5}', '{"message":5}'],
    [500, '{"other":"x"}', '{"other":"x"}'],
    [502, "  bad gateway \n", "bad gateway"],
    [503, "", "the daemon answered 503"],
    [503, " \n", "the daemon answered 503"],
  ])("%d %j → %j", (status, body, text) => {
    expect(apiErrorText(status, body)).toBe(text);
  });
});

describe("pullAttempt: one pull's outcome", () => {
  const attempt = (step: Step, signal = new AbortController().signal) => {
    const { engine } = fakeEngine({ x: [step] });
    return pullAttempt(engine, { name: "x", tag: "1" }, { signal });
  };

  it("a finished stream: ok, with its digest, and whether it was up to date", async () => {
    expect(await attempt({ lines: DOWNLOADED })).toMatchObject({ kind: "ok", upToDate: false, digest: D1 });
    expect(await attempt({ lines: UP_TO_DATE })).toMatchObject({ kind: "ok", upToDate: true, digest: D1 });
  });

  it.each([
    [199, "failed"],
    [200, "ok"],
    [299, "ok"],
    [300, "failed"],
    [404, "failed"],
  ])("HTTP %d → %s", async (status, kind) => {
    expect((await attempt({ status, lines: DOWNLOADED, body: '{"message":"no"}' })).kind).toBe(kind);
  });

  it("a non-2xx answer fails with the daemon's message", async () => {
    const a = await attempt({ status: 404, body: '{"message":"manifest unknown"}' });
    expect(a).toMatchObject({ kind: "failed", text: "manifest unknown" });
  });

  it("an error line in the stream fails with its text, even after a Status line", async () => {
    const a = await attempt({
      lines: [...DOWNLOADED, line({ error: "write /var/lib/docker: no space left" })],
    });
    expect(a).toMatchObject({ kind: "failed", text: "write /var/lib/docker: no space left" });
  });

  it("a stream cut before its Status line fails as an unexpected EOF", async () => {
    const a = await attempt({ lines: [line({ status: `Digest: ${D1}` })] });
    expect(a).toMatchObject({
      kind: "failed",
      text: "the daemon's pull stream ended before the pull finished: unexpected EOF",
    });
  });

  it("an unreachable daemon fails in the docker client's words (so it classifies as daemon-unavailable)", async () => {
    const refused = await attempt({ throws: new ConnectError("connect failed", "ECONNREFUSED") });
    expect(refused).toMatchObject({
      kind: "failed",
      text: "Cannot connect to the Docker daemon at unix:///run/docker.sock: ECONNREFUSED",
    });
    const other = await attempt({ throws: new Error("socket hang up") });
    expect(other).toMatchObject({
      kind: "failed",
      text: "Cannot connect to the Docker daemon at unix:///run/docker.sock: socket hang up",
    });
  });

  it("aborted: whatever the answer or the error", async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await attempt({ lines: DOWNLOADED }, ac.signal)).kind).toBe("aborted");
    expect((await attempt({ status: 500 }, ac.signal)).kind).toBe("aborted");
    expect((await attempt({ throws: new Error("closed") }, ac.signal)).kind).toBe("aborted");
  });

  it("folds every line for the progress callback", async () => {
    const { engine } = fakeEngine({
      x: [
        {
          lines: [
            line({ status: "Downloading", id: "l1", progressDetail: { current: 10, total: 40 } }),
            line({ status: "Downloading", id: "l1", progressDetail: { current: 30, total: 40 } }),
            ...DOWNLOADED,
          ],
        },
      ],
    });
    const seen: number[] = [];
    const lines: string[] = [];
    await pullAttempt(
      engine,
      { name: "x", tag: "1" },
      {
        signal: new AbortController().signal,
        onProgress: (p) => seen.push(p.bytesDone),
        onLine: (l) => lines.push(l),
      },
    );
    expect(seen).toEqual([10, 30, 30, 30]);
    expect(lines).toHaveLength(4);
  });
});

describe("executePlan: attempts, stops and the report", () => {
  const run = (
    plan: PlannedImage[],
    engine: Engine,
    over: Partial<Parameters<typeof executePlan>[1]> = {},
  ): Promise<ImageResult[]> =>
    executePlan(plan, {
      engine,
      registryAuth: async () => undefined,
      concurrency: 1,
      maxAttempts: 3,
      backoff: { baseMs: 1, capMs: 2 },
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      random: () => 0,
      ...over,
    });

  const TRANSIENT = {
    status: 500,
    body: '{"message":"received unexpected HTTP status: 503 Service Unavailable"}',
  };
  const NOT_FOUND = { status: 404, body: '{"message":"manifest for x:1 not found: manifest unknown"}' };
  const RATE_LIMITED = {
    status: 500,
    body: '{"message":"toomanyrequests: You have reached your pull rate limit."}',
  };

  it("a skipped image is present without a pull; a pulled one has its id and digest", async () => {
    const { engine, calls } = fakeEngine({}, { "b:1": D2 });
    const r = await run([image("a:1", { action: "skip", presentId: D1 }), image("b:1")], engine);
    expect(calls.map((c) => c.name)).toEqual(["b"]);
    expect(r[0]).toMatchObject({ ref: "a:1", action: "present", attempts: 0, id: D1 });
    expect(r[1]).toMatchObject({ ref: "b:1", action: "pulled", attempts: 1, id: D2, digest: D1 });
    expect(r[1]!.reason).toBe("mutable tag");
  });

  it("up to date: present, checked, with the plan's digest when the stream has none", async () => {
    const { engine } = fakeEngine({
      a: [{ lines: [line({ status: "Status: Image is up to date for a:1" })] }],
    });
    const [r] = await run([image("a:1", { digest: D2 })], engine);
    expect(r).toMatchObject({ action: "present", reason: "mutable tag; checked: up to date", digest: D2 });
    expect(r!.id).toBeUndefined();
  });

  it("a transient failure is retried up to maxAttempts, then reported with its class", async () => {
    const { engine, calls } = fakeEngine({ a: [TRANSIENT] });
    const [r] = await run([image("a:1")], engine);
    expect(calls).toHaveLength(3);
    expect(r).toMatchObject({
      action: "failed",
      attempts: 3,
      errorClass: "registry-unavailable",
      error: "received unexpected HTTP status: 503 Service Unavailable",
    });
  });

  it("a transient failure then a success: pulled on the second attempt", async () => {
    const { engine } = fakeEngine({ a: [TRANSIENT, { lines: DOWNLOADED }] });
    const starts: number[] = [];
    const [r] = await run([image("a:1")], engine, { onStart: (_i, n) => starts.push(n) });
    expect(r).toMatchObject({ action: "pulled", attempts: 2 });
    expect(starts).toEqual([1, 2]);
  });

  it("a permanent failure is not retried", async () => {
    const { engine, calls } = fakeEngine({ a: [NOT_FOUND, { lines: DOWNLOADED }] });
    const [r] = await run([image("a:1")], engine);
    expect(calls).toHaveLength(1);
    expect(r).toMatchObject({ action: "failed", attempts: 1, errorClass: "not-found" });
  });

  it("maxAttempts 1: no retry even for a transient failure", async () => {
    const { engine, calls } = fakeEngine({ a: [TRANSIENT, { lines: DOWNLOADED }] });
    const [r] = await run([image("a:1")], engine, { maxAttempts: 1 });
    expect(calls).toHaveLength(1);
    expect(r).toMatchObject({ action: "failed", attempts: 1 });
  });

  it("after a host-wide failure (rate-limited) the rest is not started, saying why", async () => {
    const { engine, calls } = fakeEngine({ a: [RATE_LIMITED] });
    const r = await run([image("a:1"), image("b:1"), image("c:1", { action: "skip" })], engine);
    expect(calls.map((c) => c.name)).toEqual(["a"]);
    expect(r.map((x) => [x.ref, x.action, x.attempts, x.error])).toEqual([
      ["a:1", "failed", 1, "toomanyrequests: You have reached your pull rate limit."],
      ["b:1", "not-attempted", 0, "not started: an earlier pull failed with rate-limited"],
      // A skip needs no pull: still present.
      ["c:1", "present", 0, undefined],
    ]);
  });

  it("an image-specific failure does not stop the others", async () => {
    const { engine, calls } = fakeEngine({ a: [NOT_FOUND] });
    const r = await run([image("a:1"), image("b:1")], engine);
    expect(calls.map((c) => c.name)).toEqual(["a", "b"]);
    expect(r.map((x) => x.action)).toEqual(["failed", "pulled"]);
  });

  it("a daemon that cannot be reached stops the rest (daemon-unavailable)", async () => {
    const { engine } = fakeEngine({ a: [{ throws: new ConnectError("no", "ENOENT") }] });
    const r = await run([image("a:1"), image("b:1")], engine, { maxAttempts: 1 });
    expect(r.map((x) => [x.action, x.errorClass ?? x.error])).toEqual([
      ["failed", "daemon-unavailable"],
      ["not-attempted", "not started: an earlier pull failed with daemon-unavailable"],
    ]);
  });

  it("a signal aborted before the start: nothing attempted, no error", async () => {
    const { engine, calls } = fakeEngine({});
    const ac = new AbortController();
    ac.abort(new InterruptedError("SIGINT"));
    const r = await run([image("a:1")], engine, { signal: ac.signal });
    expect(calls).toHaveLength(0);
    expect(r).toEqual([
      {
        ref: "a:1",
        service: "svc-a:1",
        file: "compose.yml",
        reason: "mutable tag",
        action: "not-attempted",
        attempts: 0,
        durationMs: 0,
      },
    ]);
  });

  it("an interrupt during a pull fails it as interrupted, naming the signal", async () => {
    const { engine } = fakeEngine({ a: [{ hang: true }] });
    const ac = new AbortController();
    const r = run([image("a:1")], engine, {
      signal: ac.signal,
      onStart: () => ac.abort(new InterruptedError("SIGTERM")),
    });
    expect((await r)[0]).toMatchObject({
      action: "failed",
      attempts: 1,
      errorClass: "interrupted",
      error: "interrupted by SIGTERM",
    });
    const ac2 = new AbortController();
    const { engine: e2 } = fakeEngine({ a: [{ hang: true }] });
    const r2 = await run([image("a:1")], e2, { signal: ac2.signal, onStart: () => ac2.abort() });
    expect(r2[0]).toMatchObject({ errorClass: "interrupted", error: "interrupted by a signal" });
  });

  it("the deadline fails the pull in flight as timeout and leaves the rest not attempted", async () => {
    const { engine, calls } = fakeEngine({ a: [{ hang: true }] });
    const r = await run([image("a:1"), image("b:1")], engine, { timeoutMs: 30 });
    expect(calls.map((c) => c.name)).toEqual(["a"]);
    expect(r.map((x) => [x.action, x.errorClass, x.error])).toEqual([
      ["failed", "timeout", "the prepull deadline (30 ms) passed during this pull"],
      ["not-attempted", undefined, undefined],
    ]);
  });

  it("the deadline during a backoff pause ends the image there", async () => {
    const { engine, calls } = fakeEngine({ a: [TRANSIENT] });
    const r = await run([image("a:1")], engine, {
      timeoutMs: 50,
      backoff: { baseMs: 60_000, capMs: 60_000 },
    });
    expect(calls).toHaveLength(1);
    expect(r[0]).toMatchObject({ action: "failed", attempts: 1, errorClass: "timeout" });
  });

  it("a negative timeout is an immediate deadline", async () => {
    const { engine } = fakeEngine({ a: [{ hang: true }] });
    const r = await run([image("a:1")], engine, { timeoutMs: -5 });
    expect(r[0]).toMatchObject({ errorClass: "timeout" });
  });

  it("credentials per image; a failing lookup pulls anonymously", async () => {
    const { engine, calls } = fakeEngine({});
    await run([image("a:1"), image("r.example/b:1")], engine, {
      registryAuth: async (img) => {
        if (img.parsed.domain === "r.example") throw new Error("damaged config");
        return "AUTH-A";
      },
    });
    expect(calls.map((c) => [c.name, c.registryAuth])).toEqual([
      ["a", "AUTH-A"],
      ["r.example/b", undefined],
    ]);
  });

  it("timing: the wait for a download slot, the time pulling, the bytes", async () => {
    let t = 1_000;
    const { engine } = fakeEngine({
      a: [
        {
          lines: [
            line({ status: "Waiting", id: "l1" }),
            line({ status: "Downloading", id: "l1", progressDetail: { current: 100, total: 100 } }),
            line({ status: "Pull complete", id: "l1" }),
            ...DOWNLOADED,
          ],
        },
      ],
    });
    // Every clock read advances 10 ms.
    const [r] = await run([image("a:1")], engine, { now: () => (t += 10) });
    expect(r).toMatchObject({ action: "pulled", bytes: 100 });
    expect(r!.waitMs).toBeGreaterThan(0);
    expect(r!.pullMs).toBeGreaterThan(0);
    expect(r!.durationMs).toBeGreaterThanOrEqual(r!.waitMs! + r!.pullMs!);
  });

  it("every result is passed to onResult, in plan order at concurrency 1", async () => {
    const { engine } = fakeEngine({ b: [NOT_FOUND] });
    const seen: string[] = [];
    await run([image("a:1", { action: "skip" }), image("b:1"), image("c:1")], engine, {
      onResult: (x) => seen.push(`${x.ref} ${x.action}`),
    });
    expect(seen).toEqual(["a:1 present", "b:1 failed", "c:1 pulled"]);
  });
});

// Pinned beyond the cases above: the exact timing fields from a clock the stream drives, progress
// per image, the retry that goes on when another pull stopped the run, the deadline that lands
// right after a backoff pause, the backoff growing per retry, and the caller's signal left clean.
describe("executePlan: timing, progress, retries under a stop, and cleanup", () => {
  const opts = (engine: Engine, over: Partial<Parameters<typeof executePlan>[1]> = {}) => ({
    engine,
    registryAuth: async () => undefined,
    concurrency: 1,
    maxAttempts: 3,
    backoff: { baseMs: 1, capMs: 2 },
    timeoutMs: 60_000,
    signal: new AbortController().signal,
    random: () => 0,
    ...over,
  });
  const TRANSIENT = {
    status: 500,
    body: '{"message":"received unexpected HTTP status: 503 Service Unavailable"}',
  };
  const RATE_LIMITED = {
    status: 500,
    body: '{"message":"toomanyrequests: You have reached your pull rate limit."}',
  };

  afterEach(() => {
    vi.useRealTimers();
  });

  it("timing: waitMs is the slot wait, pullMs the rest of the attempt, durationMs the whole", async () => {
    let t = 1_000;
    const engine = {
      describe: () => "unix:///run/docker.sock",
      inspectImage: async () => undefined,
      pullImage: async (_n: string, _t: string, o: { onLine: (l: string) => void }) => {
        t = 1_100;
        o.onLine(line({ status: "Waiting", id: "l1" }));
        t = 1_400;
        o.onLine(line({ status: "Downloading", id: "l1", progressDetail: { current: 70, total: 70 } }));
        t = 1_500;
        o.onLine(line({ status: "Pull complete", id: "l1" }));
        for (const l of DOWNLOADED) o.onLine(l);
        t = 1_600;
        return { status: 200, body: "" };
      },
    } as unknown as Engine;
    const [r] = await executePlan([image("a:1")], opts(engine, { now: () => t }));
    expect(r).toMatchObject({ action: "pulled", waitMs: 300, pullMs: 300, durationMs: 600, bytes: 70 });
  });

  it("progress of each pull reaches onProgress with its image", async () => {
    const { engine } = fakeEngine({
      a: [
        {
          lines: [
            line({ status: "Downloading", id: "l1", progressDetail: { current: 5, total: 9 } }),
            ...DOWNLOADED,
          ],
        },
      ],
    });
    const seen: [string, number][] = [];
    await executePlan(
      [image("a:1")],
      opts(engine, { onProgress: (img, p) => seen.push([img.ref, p.bytesDone]) }),
    );
    expect(seen).toEqual([
      ["a:1", 5],
      ["a:1", 5],
      ["a:1", 5],
    ]);
  });

  it("a pull already retrying keeps retrying when another pull stops the run", async () => {
    // a fails transiently and pauses; meanwhile b hits the rate limit (host-wide): a has started,
    // so its retry goes on; only images not yet started are left.
    const { engine, calls } = fakeEngine({ a: [TRANSIENT, { lines: DOWNLOADED }], b: [RATE_LIMITED] });
    const r = await executePlan(
      [image("a:1"), image("b:1"), image("c:1")],
      opts(engine, { concurrency: 2, backoff: { baseMs: 20, capMs: 20 } }),
    );
    expect(calls.map((c) => c.name)).toEqual(["a", "b", "a"]);
    expect(r.map((x) => [x.ref, x.action, x.attempts])).toEqual([
      ["a:1", "pulled", 2],
      ["b:1", "failed", 1],
      ["c:1", "not-attempted", 0],
    ]);
  });

  /** Let the run's promises settle until `n` timers are pending (fake timers). */
  const settleUntilTimers = async (n: number) => {
    for (let i = 0; i < 1000 && vi.getTimerCount() < n; i++) await Promise.resolve();
    expect(vi.getTimerCount()).toBe(n);
  };

  it("a deadline that passes right after a backoff pause ends the image before another attempt", async () => {
    vi.useFakeTimers();
    const { engine, calls } = fakeEngine({ a: [TRANSIENT] });
    // The pause is 5 ms (random 0: half of 10), the deadline 8 ms: both fire in one timer run.
    const run = executePlan(
      [image("a:1")],
      opts(engine, { timeoutMs: 8, backoff: { baseMs: 10, capMs: 10 } }),
    );
    await settleUntilTimers(2);
    vi.advanceTimersByTime(10);
    const [r] = await run;
    expect(calls).toHaveLength(1);
    expect(r).toMatchObject({ action: "failed", attempts: 1, errorClass: "timeout" });
  });

  it("the backoff doubles per retry: attempts start 500 then 1000 ms apart (random 0)", async () => {
    vi.useFakeTimers({ now: 0 });
    const { engine } = fakeEngine({ a: [TRANSIENT] });
    const starts: number[] = [];
    const run = executePlan(
      [image("a:1")],
      opts(engine, { backoff: { baseMs: 1_000, capMs: 60_000 }, onStart: () => starts.push(Date.now()) }),
    );
    await vi.advanceTimersByTimeAsync(5_000);
    const [r] = await run;
    expect(r).toMatchObject({ action: "failed", attempts: 3 });
    expect(starts).toEqual([0, 500, 1_500]);
  });

  it("leaves no listener on the caller's signal once it returns", async () => {
    const ac = new AbortController();
    const { engine } = fakeEngine({ b: [TRANSIENT] });
    await executePlan([image("a:1"), image("b:1")], opts(engine, { signal: ac.signal }));
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});
