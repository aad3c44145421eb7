// Pulls through the Engine API (POST /images/create), against a real daemon and registry: the
// daemon's error wording for every failure class the testbed can provoke is classified as the CLI's
// was, the progress stream is what src/pull/progress.ts folds, and closing the connection makes the
// daemon stop the pull. With IMAGEKEEPER_CAPTURE=1 the error texts are saved under
// test/fixtures/pull-errors-api/ and the progress streams under test/fixtures/pull-progress/, for
// the unit tables (test/unit/classify.test.ts, test/unit/pull-progress.test.ts).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { registryAuthHeader } from "../../src/auth/credentials.js";
import { Engine } from "../../src/docker/engine.js";
import { http10Stream } from "../../src/docker/http10.js";
import { parseReference } from "../../src/model/reference.js";
import { classify } from "../../src/pull/classify.js";
import { type Attempt, pullAttempt, pullTarget } from "../../src/pull/execute.js";
import { foldLine, newFold, progressOf } from "../../src/pull/progress.js";
import { type FaultProxy, HUB_QUOTA_BODY, startProxy } from "../support/proxy.js";
import {
  type Daemon,
  freePort,
  type LoopDisk,
  makeLoopDisk,
  pushImage,
  type Registry,
  startDaemon,
  startRegistry,
  waitFor,
} from "../support/testbed.js";

const CAPTURE = process.env.IMAGEKEEPER_CAPTURE === "1";
const ERRORS = path.resolve("test/fixtures/pull-errors-api");
const PROGRESS = path.resolve("test/fixtures/pull-progress");

let reg: Registry;
let authReg: Registry;
let proxy: FaultProxy;
let d: Daemon;
let slow: Daemon;

beforeAll(async () => {
  reg = await startRegistry();
  authReg = await startRegistry({ htpasswd: { user: "ci", password: "s3cret-token" } });
  proxy = await startProxy(reg.host);
  // One download slot for the whole daemon: layers queue ("Waiting") behind each other.
  [d, slow] = await Promise.all([
    startDaemon(),
    startDaemon({ settings: { "max-concurrent-downloads": 1 } }),
  ]);
  await pushImage(reg.host, "coop/app", "1.0.0", { seed: "app-1" });
  await pushImage(authReg.host, "private/app", "1.0.0", { auth: { user: "ci", password: "s3cret-token" } });
});
afterAll(async () => {
  await Promise.all([d?.stop(), slow?.stop()]);
  await proxy?.close();
  await reg?.stop();
  await authReg?.stop();
});
beforeEach(() => proxy.reset());

const stable = (s: string) =>
  s.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:5000").replace(/\/tmp\/[\w.-]+/g, "/tmp/X");

async function pull(
  daemon: Daemon,
  ref: string,
  o: { registryAuth?: string; lines?: string[]; signal?: AbortSignal } = {},
): Promise<Attempt> {
  const p = parseReference(ref);
  if (!p.ok) throw new Error(p.reason);
  return pullAttempt(new Engine({ socketPath: daemon.socket }), pullTarget({ parsed: p.ref }), {
    registryAuth: o.registryAuth,
    signal: o.signal ?? new AbortController().signal,
    onLine: (l) => o.lines?.push(l),
  });
}

async function failure(
  daemon: Daemon,
  ref: string,
  registryAuth?: string,
  lines?: string[],
): Promise<string> {
  const a = await pull(daemon, ref, {
    ...(registryAuth ? { registryAuth } : {}),
    ...(lines ? { lines } : {}),
  });
  if (a.kind !== "failed") throw new Error(`pull of ${ref} did not fail: ${a.kind}`);
  return a.text;
}

function check(name: string, text: string, cls: string) {
  if (CAPTURE) {
    mkdirSync(ERRORS, { recursive: true });
    writeFileSync(path.join(ERRORS, `${name}.txt`), `${stable(text)}\n`);
  }
  expect(classify(text).cls, text).toBe(cls);
}

const p = (repoTag: string) => `${proxy.host}/${repoTag}`;
const manifests = (_m: string, u: string) => u.includes("/manifests/");

describe("Engine API pull failures, classified", () => {
  it("not-found: a tag the registry does not have", async () => {
    check("not-found.manifest-unknown", await failure(d, p("coop/app:9.9.9")), "not-found");
  });
  it("not-found: a repository the registry does not have", async () => {
    check("not-found.repository", await failure(d, p("coop/nope:1.0")), "not-found");
  });
  it("unauthorized: no credentials for a registry that needs them", async () => {
    check(
      "unauthorized.no-credentials",
      await failure(d, `${authReg.host}/private/app:1.0.0`),
      "unauthorized",
    );
  });
  it("unauthorized: wrong credentials in X-Registry-Auth; the right ones pull", async () => {
    const auth = (password: string) =>
      registryAuthHeader({ serverAddress: authReg.host, username: "ci", password, from: "auths" });
    check(
      "unauthorized.wrong-password",
      await failure(d, `${authReg.host}/private/app:1.0.0`, auth("wrong")),
      "unauthorized",
    );
    const ok = await pull(d, `${authReg.host}/private/app:1.0.0`, { registryAuth: auth("s3cret-token")! });
    expect(ok.kind).toBe("ok");
  });
  it("denied: the registry refuses access", async () => {
    proxy.rules.push({
      match: manifests,
      action: {
        kind: "status",
        status: 403,
        body: JSON.stringify({
          errors: [{ code: "DENIED", message: "requested access to the resource is denied" }],
        }),
      },
    });
    check("denied.403", await failure(d, p("coop/app:1.0.0")), "denied");
  });
  it("rate-limited: Docker Hub's quota answer", async () => {
    proxy.rules.push({ match: manifests, action: { kind: "status", status: 429, body: HUB_QUOTA_BODY } });
    check("rate-limited.hub-quota", await failure(d, p("coop/app:1.0.0")), "rate-limited");
  });
  it("throttled: a bare 429", async () => {
    proxy.rules.push({
      match: manifests,
      action: {
        kind: "status",
        status: 429,
        body: JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] }),
      },
    });
    check("throttled.bare-429", await failure(d, p("coop/app:1.0.0")), "throttled");
  });
  it("registry-unavailable: 503 without a body", async () => {
    proxy.rules.push({ match: manifests, action: { kind: "status", status: 503, body: "" } });
    check("registry-unavailable.503", await failure(d, p("coop/app:1.0.0")), "registry-unavailable");
  });
  it("registry-unavailable: 502 from a gateway", async () => {
    proxy.rules.push({
      match: manifests,
      action: {
        kind: "status",
        status: 502,
        body: "<html>bad gateway</html>",
        headers: { "Content-Type": "text/html" },
      },
    });
    check("registry-unavailable.502-html", await failure(d, p("coop/app:1.0.0")), "registry-unavailable");
  });
  it("network: the connection is reset", async () => {
    proxy.rules.push({ match: manifests, action: { kind: "reset" } });
    check("network.reset", await failure(d, p("coop/app:1.0.0")), "network");
  });
  it("network: nothing listens on the registry's port", async () => {
    check("network.refused", await failure(d, `127.0.0.1:${await freePort()}/coop/app:1.0.0`), "network");
  });
  it("network (ambiguous): an unknown host", async () => {
    check("network.no-such-host", await failure(d, "registry.invalid/coop/app:1.0.0"), "network");
  });
  it("bad-reference: a name docker rejects", async () => {
    const a = await pullAttempt(
      new Engine({ socketPath: d.socket }),
      { name: "Coop/App", tag: "1" },
      {
        signal: new AbortController().signal,
      },
    );
    if (a.kind !== "failed") throw new Error(`unexpected ${a.kind}`);
    check("bad-reference.uppercase", a.text, "bad-reference");
  });
  it("daemon-unavailable: no daemon at the socket", async () => {
    const a = await pullAttempt(
      new Engine({ socketPath: `${d.dir}/none.sock` }),
      { name: "nginx", tag: "1" },
      {
        signal: new AbortController().signal,
      },
    );
    if (a.kind !== "failed") throw new Error(`unexpected ${a.kind}`);
    check("daemon-unavailable.no-socket", a.text, "daemon-unavailable");
  });
  it("disk-full: the data root has no room for the layers", async () => {
    let disk: LoopDisk | undefined;
    let small: Daemon | undefined;
    try {
      disk = makeLoopDisk(40);
      small = await startDaemon({ dataRoot: disk.dir });
      await pushImage(reg.host, "big/blob", "1.0", { sizeBytes: 48 * 1024 * 1024, seed: "big" });
      const lines: string[] = [];
      // The daemon answers 200 and starts; the failure is an error line in the stream.
      check(
        "disk-full.no-space",
        await failure(small, `${reg.host}/big/blob:1.0`, undefined, lines),
        "disk-full",
      );
      saveStream("disk-full", lines);
      expect(lines.at(-1)).toMatch(/"errorDetail"/);
    } finally {
      await small?.stop();
      disk?.unmount();
    }
  });
});

function saveStream(name: string, lines: string[]) {
  if (!CAPTURE) return;
  mkdirSync(PROGRESS, { recursive: true });
  writeFileSync(path.join(PROGRESS, `${name}.jsonl`), lines.map((l) => `${stable(l)}\n`).join(""));
}

describe("the progress stream", () => {
  it("two images at once on one download slot: layers wait, then download, extract, complete", async () => {
    await Promise.all([
      pushImage(reg.host, "slot/a", "1", { sizeBytes: 6 * 1024 * 1024, seed: "slot-a" }),
      pushImage(reg.host, "slot/b", "1", { sizeBytes: 6 * 1024 * 1024, seed: "slot-b" }),
    ]);
    const la: string[] = [];
    const lb: string[] = [];
    const [a, b] = await Promise.all([
      pull(slow, `${reg.host}/slot/a:1`, { lines: la }),
      pull(slow, `${reg.host}/slot/b:1`, { lines: lb }),
    ]);
    expect([a.kind, b.kind]).toEqual(["ok", "ok"]);
    saveStream("cold.one-slot.a", la);
    saveStream("cold.one-slot.b", lb);
    const all = [...la, ...lb].map((l) => JSON.parse(l) as { status?: string });
    // One slot for three distinct layers (the busybox layer is shared): someone waited.
    expect(all.some((m) => m.status === "Waiting")).toBe(true);
    for (const x of [a, b]) {
      if (x.kind !== "ok") continue;
      expect(x.upToDate).toBe(false);
      expect(x.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const pr = progressOf(x.fold, Date.now());
      expect(pr.bytesTotal).toBeGreaterThan(0);
      expect(pr.bytesDone).toBe(pr.bytesTotal);
    }
  });

  it("a layer whose first request fails is fetched again; its size may then come without a total", async () => {
    const img = await pushImage(reg.host, "retry/me", "1", { sizeBytes: 400_000, seed: "retry" });
    // A layer, not the config blob (whose fetch the daemon does not retry).
    proxy.rules.push({
      match: (m, u) => m === "GET" && u.includes("/retry/me/blobs/") && !u.endsWith(img.id),
      action: { kind: "status", status: 503, body: "" },
      times: 1,
    });
    const lines: string[] = [];
    const a = await pull(d, p("retry/me:1"), { lines });
    saveStream("refetched-layer", lines);
    expect(a.kind).toBe("ok");
    if (a.kind !== "ok") return;
    const pr = progressOf(a.fold, Date.now());
    // The base layer may already be here from an earlier test: then it "Already exists".
    expect(pr.layers.total).toBe(2);
    expect(pr.layers.done + pr.layers.existing).toBe(2);
    expect(pr.bytesDone).toBe(pr.bytesTotal);
    expect(pr.bytesDone).toBeGreaterThanOrEqual(400_000);
  });

  it("a second pull of an unchanged tag says it is up to date", async () => {
    const lines: string[] = [];
    const a = await pull(slow, `${reg.host}/slot/a:1`, { lines });
    saveStream("up-to-date", lines);
    expect(a).toMatchObject({ kind: "ok", upToDate: true });
  });

  it("a tag moved to an image sharing the base layer: only the new layer is downloaded", async () => {
    await pushImage(reg.host, "slot/a", "1", { sizeBytes: 300_000, seed: "slot-a-2" });
    const lines: string[] = [];
    const a = await pull(slow, `${reg.host}/slot/a:1`, { lines });
    saveStream("moved-tag", lines);
    expect(a).toMatchObject({ kind: "ok", upToDate: false });
    const msgs = lines.map((l) => JSON.parse(l) as { status?: string });
    expect(msgs.some((m) => m.status === "Already exists")).toBe(true);
    const f = newFold(0);
    lines.forEach((l, i) => foldLine(f, l, i));
    expect(progressOf(f, lines.length).layers.existing).toBe(1);
  });
});

describe("cancelling a pull", () => {
  it("closing the connection makes the daemon stop pulling", async () => {
    await pushImage(reg.host, "cancel/me", "1", { sizeBytes: 2 * 1024 * 1024, seed: "cancel" });
    // Blobs trickle in (a 2 MB layer at 32 KB/s): the daemon is mid-download when we abort. (A
    // blob request that gets no answer at all would not do: dockerd 20.10's blob GET is not bound
    // to the pull's context, so only a body being read can be cancelled.)
    proxy.rules.push({
      match: (_m, u) => u.includes("/cancel/me/blobs/"),
      action: { kind: "throttle", bytesPerSecond: 32 * 1024 },
    });
    const since = Math.floor(Date.now() / 1000) - 1;
    const ac = new AbortController();
    const lines: string[] = [];
    const pending = pull(d, p("cancel/me:1"), { signal: ac.signal, lines });
    await waitFor(
      "the download to start",
      async () => lines.some((l) => l.includes('"Downloading"')),
      60_000,
    );
    ac.abort();
    expect((await pending).kind).toBe("aborted");
    // The daemon drops its registry requests once its client has gone.
    await waitFor("the daemon to close its registry connections", async () => proxy.inFlight() === 0, 30_000);
    const until = Math.floor(Date.now() / 1000) + 1;
    const events: { Type: string; Action: string; Actor?: { ID?: string } }[] = [];
    await http10Stream(
      { socketPath: d.socket },
      { method: "GET", path: `/events?since=${since}&until=${until}` },
      (l) => events.push(JSON.parse(l) as { Type: string; Action: string; Actor?: { ID?: string } }),
    );
    // Only this image's: `since` has one-second steps, so the previous test's pull may fall inside.
    expect(
      events.filter((e) => e.Type === "image" && e.Action === "pull" && e.Actor?.ID?.includes("cancel/me")),
    ).toEqual([]);
    expect(await new Engine({ socketPath: d.socket }).inspectImage(p("cancel/me:1"))).toBeUndefined();
  });
});
