// prepull end to end: the real CLI bundle, a private dockerd whose Docker Hub mirror and direct
// registry traffic both pass through a fault-injecting, request-logging proxy in front of a private
// registry. What the proxy logs is what the registry was asked.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { prepullReportSchema } from "../../src/pull/report.js";
import { ledgerSchema } from "../../src/state/ledger.js";
import { cli, cliSpawn } from "../support/cli.js";
import { type FaultProxy, HUB_QUOTA_BODY, startProxy } from "../support/proxy.js";
import {
  type Daemon,
  type PushedImage,
  pushImage,
  type Registry,
  startDaemon,
  startRegistry,
  waitFor,
} from "../support/testbed.js";

let reg: Registry;
let proxy: FaultProxy;
let d: Daemon;
let work: string;
let app1: PushedImage;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
  d = await startDaemon({ mirrors: [`http://${proxy.host}`] });
  work = mkdtempSync(path.join(tmpdir(), "ikprepull-"));
  await Promise.all([
    pushImage(reg.host, "library/nginx", "1.25.3", { sizeBytes: 200_000 }),
    pushImage(reg.host, "library/nginx", "latest", { sizeBytes: 100_000 }),
    pushImage(reg.host, "library/postgres", "16.4", { sizeBytes: 300_000 }),
    pushImage(reg.host, "coop/app", "1.0.0", { sizeBytes: 150_000 }).then((p) => (app1 = p)),
    pushImage(reg.host, "coop/app", "2.0.0", { sizeBytes: 150_000 }),
    ...[1, 2, 3, 4, 5, 6].map((i) => pushImage(reg.host, `many/img${i}`, "1.0", { sizeBytes: 50_000 })),
  ]);
});

afterAll(async () => {
  await d?.stop();
  await proxy?.close();
  await reg?.stop();
});

beforeEach(() => {
  proxy.reset();
});

let n = 0;
/** A fresh recipe dir, state dir and env: each test sees its own ledger and cache. */
function recipe(
  compose: string,
  envText = "",
): { args: string[]; env: Record<string, string>; dir: string; state: string } {
  const dir = path.join(work, `r${++n}`);
  execFileSync("mkdir", ["-p", dir]);
  writeFileSync(path.join(dir, "compose.yml"), compose);
  writeFileSync(path.join(dir, "app.env"), `TYPE=demo${n}\nREG=${proxy.host}\n${envText}`);
  const state = mkdtempSync(path.join(tmpdir(), "ikstate-"));
  return {
    args: ["--recipe", dir, "--env-file", path.join(dir, "app.env")],
    env: { ...d.env, IMAGEKEEPER_STATE_DIR: state, IMAGEKEEPER_RUN_DIR: state },
    dir,
    state,
  };
}

const svc = (lines: Record<string, string>) =>
  `version: "3.8"\nservices:\n${Object.entries(lines)
    .map(([k, v]) => `  ${k}:\n    image: ${v}\n`)
    .join("")}`;

function rmi(...refs: string[]) {
  for (const r of refs) {
    try {
      d.docker(["image", "rm", r]);
    } catch {
      // not present
    }
  }
}

function report(stdout: string) {
  return prepullReportSchema.parse(JSON.parse(stdout));
}

describe("prepull", () => {
  it("pulls cold, then a warm run makes one HEAD per tag, downloads nothing, and reports digests", async () => {
    rmi("nginx:1.25.3", "nginx:latest", "postgres:16.4", `${proxy.host}/coop/app:1.0.0`);
    const r = recipe(
      svc({ web: "nginx:1.25.3", edge: "nginx:latest", db: "postgres:16.4", app: "${REG}/coop/app:1.0.0" }),
    );
    const cold = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(cold.code).toBe(0);
    const c = report(cold.stdout);
    expect(c.ok).toBe(true);
    expect(c.images.map((i) => [i.ref, i.action])).toEqual([
      [`${proxy.host}/coop/app:1.0.0`, "pulled"],
      ["nginx:1.25.3", "pulled"],
      ["nginx:latest", "pulled"],
      ["postgres:16.4", "pulled"],
    ]);
    for (const i of c.images) expect(i.id).toMatch(/^sha256:/);

    const before = proxy.log.length;
    const warm = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(warm.code).toBe(0);
    const w = report(warm.stdout);
    expect(Object.fromEntries(w.images.map((i) => [i.ref, i.action]))).toEqual({
      [`${proxy.host}/coop/app:1.0.0`]: "present",
      "nginx:1.25.3": "present",
      "nginx:latest": "present",
      "postgres:16.4": "present",
    });
    expect(w.pullPolicy).toBe("auto");
    // Each image's digest: the registry's, which the cold run pulled.
    expect(Object.fromEntries(w.images.map((i) => [i.ref, i.digest]))).toEqual(
      Object.fromEntries(c.images.map((i) => [i.ref, i.digest])),
    );
    expect(w.images.find((i) => i.ref.endsWith("coop/app:1.0.0"))!.digest).toBe(app1.digest);
    // Exactly one manifest HEAD per tag (Hub names through the daemon's mirror), nothing else.
    const hits = proxy.registryHits(before);
    expect(hits.map((h) => `${h.method} ${h.path}`).sort()).toEqual(
      [
        "HEAD /v2/coop/app/manifests/1.0.0",
        "HEAD /v2/library/nginx/manifests/1.25.3",
        "HEAD /v2/library/nginx/manifests/latest",
        "HEAD /v2/library/postgres/manifests/16.4",
      ].sort(),
    );

    // The ledger recorded what this recipe needed.
    const ledger = ledgerSchema.parse(JSON.parse(readFileSync(path.join(r.state, "ledger.json"), "utf8")));
    expect(Object.keys(ledger.needs)).toEqual([`demo${n}|deploy`]);
    expect(ledger.needs[`demo${n}|deploy`]!.images.map((i) => i.ref).sort()).toEqual(
      c.images.map((i) => i.ref).sort(),
    );
    const web = ledger.images[c.images.find((i) => i.ref === "nginx:1.25.3")!.id!]!;
    // Two prepulls less than a minute apart are one use; both were by this app in the deploy role.
    expect(web.uses).toHaveLength(1);
    expect(Object.keys(web.by)).toEqual([`demo${n}|deploy`]);
    expect(web.arrived).not.toBeNull();
  });

  it("fails a bad tag as not-found within seconds, with exit 1 and a hint", async () => {
    const r = recipe(svc({ app: "${REG}/coop/app:9.9.9" }));
    const res = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(res.code).toBe(1);
    const rep = report(res.stdout);
    expect(rep.ok).toBe(false);
    expect(rep.images[0]).toMatchObject({ action: "failed", errorClass: "not-found", attempts: 1 });
    expect(res.ms).toBeLessThan(10_000);
    const text = await cli(["prepull", ...r.args], r.env);
    expect(text.stdout).toMatch(/not-found: .*manifest unknown/);
    expect(text.stdout).toMatch(/fix: That tag or digest does not exist/);
  });

  it("exits 2 for an unresolved required variable, naming it and the file, with nothing pulled", async () => {
    const r = recipe(svc({ app: "${REG}/coop/app:${APP_VERSION:?set APP_VERSION}" }));
    const before = proxy.log.length;
    const res = await cli(["prepull", ...r.args], r.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/required variable APP_VERSION is missing a value/);
    expect(res.stderr).toContain("compose.yml");
    expect(proxy.log.length).toBe(before);
  });

  it("retries 503 with backoff and succeeds on attempt 3", async () => {
    rmi(`${proxy.host}/coop/app:2.0.0`);
    const r = recipe(svc({ app: "${REG}/coop/app:2.0.0" }));
    writeFileSync(
      path.join(r.state, "config.json"),
      JSON.stringify({ prepull: { backoffBase: "100ms", backoffCap: "400ms" } }),
    );
    // The digest check's HEAD gets the first 503 (the image is absent: pull anyway); each pull
    // asks HEAD, then falls back to GET: two failed attempts are four more.
    proxy.rules.push({
      match: (_m, p) => p.includes("/coop/app/manifests/2.0.0"),
      action: { kind: "status", status: 503, body: "" },
      times: 5,
    });
    const res = await cli(
      ["prepull", ...r.args, "--json", "--config", path.join(r.state, "config.json")],
      r.env,
    );
    expect(res.code).toBe(0);
    expect(report(res.stdout).images[0]).toMatchObject({ action: "pulled", attempts: 3 });
  });

  it("stops at once on Docker Hub's quota text: rate-limited after one attempt", async () => {
    // Against a direct reference: through a mirror the daemon falls back to the real Hub (no such
    // host here) and the mirror's answer never reaches the client.
    const direct = recipe(svc({ app: "${REG}/coop/app:1.0.0" }));
    rmi(`${proxy.host}/coop/app:1.0.0`);
    proxy.rules.push({
      match: (_m, p) => p.includes("/coop/app/manifests/1.0.0"),
      action: { kind: "status", status: 429, body: HUB_QUOTA_BODY },
    });
    const res2 = await cli(["prepull", ...direct.args, "--json"], direct.env);
    expect(res2.code).toBe(1);
    expect(report(res2.stdout).images[0]).toMatchObject({
      action: "failed",
      errorClass: "rate-limited",
      attempts: 1,
    });
  });

  it("fails a stalled registry as timeout within the deadline", async () => {
    rmi(`${proxy.host}/coop/app:2.0.0`);
    const r = recipe(svc({ app: "${REG}/coop/app:2.0.0" }));
    proxy.rules.push({
      match: (_m, p) => p.includes("/coop/app/manifests/2.0.0"),
      action: { kind: "stall" },
    });
    const res = await cli(["prepull", ...r.args, "--json", "--timeout", "4s"], r.env);
    expect(res.code).toBe(1);
    expect(report(res.stdout).images[0]).toMatchObject({ action: "failed", errorClass: "timeout" });
    expect(res.ms).toBeLessThan(15_000);
  });

  it("honours the concurrency bound", async () => {
    const refs = [1, 2, 3, 4, 5, 6].map((i) => `\${REG}/many/img${i}:1.0`);
    rmi(...[1, 2, 3, 4, 5, 6].map((i) => `${proxy.host}/many/img${i}:1.0`));
    const r = recipe(svc(Object.fromEntries(refs.map((ref, i) => [`s${i}`, ref]))));
    proxy.rules.push({
      match: (m, p) => m === "GET" && /\/many\/img\d\/manifests\//.test(p),
      action: { kind: "delay", ms: 700 },
    });
    const before = proxy.log.length;
    const res = await cli(["prepull", ...r.args, "--json", "--concurrency", "2"], r.env);
    expect(res.code).toBe(0);
    const manifestGets = proxy.log
      .slice(before)
      .filter((l) => l.method === "GET" && /\/many\/img\d\/manifests\//.test(l.path));
    expect(manifestGets.length).toBeGreaterThanOrEqual(6);
    // At most two images are being pulled at once (one pull may fetch several blobs in parallel).
    // The digest check's HEADs, all at once before any pull, are not pulls.
    const maxParallel = Math.max(
      ...proxy.log
        .slice(before)
        .filter((l) => l.method === "GET")
        .map((l) => l.reposInFlight.filter((repo) => repo.startsWith("many/")).length),
    );
    expect(maxParallel).toBeLessThanOrEqual(2);
    expect(maxParallel).toBe(2);
  });

  it("writes prepull actions and error classes to the metrics textfile", async () => {
    const r = recipe(svc({ web: "nginx:1.25.3", bad: "${REG}/coop/app:9.9.9" }));
    const textfile = path.join(r.state, "metrics", "imagekeeper.prom");
    writeFileSync(path.join(r.state, "config.json"), JSON.stringify({ metrics: { textfile } }));
    const res = await cli(["prepull", ...r.args, "--config", path.join(r.state, "config.json")], r.env);
    expect(res.code).toBe(1);
    const prom = readFileSync(textfile, "utf8");
    expect(prom).toMatch(/^imagekeeper_prepull_images_total\{action="failed"\} 1$/m);
    expect(prom).toMatch(/^imagekeeper_prepull_errors_total\{class="not-found"\} 1$/m);
    expect(prom).toMatch(/^imagekeeper_prepull_runs_total\{result="failed"\} 1$/m);
  });

  it("exits 3 when the daemon is unreachable", async () => {
    const r = recipe(svc({ app: "nginx:1.25.3" }));
    const res = await cli(["prepull", ...r.args], { ...r.env, DOCKER_HOST: `unix://${work}/nope.sock` });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/cannot reach the Docker daemon/);
    expect(res.stderr).toMatch(/fix: Start the Docker daemon/);
  });

  it("on SIGTERM stops every pull (the daemon cancels it), and reports what never ran", async () => {
    const refs = [1, 2, 3].map((i) => `\${REG}/many/img${i}:1.0`);
    rmi(...[1, 2, 3].map((i) => `${proxy.host}/many/img${i}:1.0`));
    const r = recipe(svc(Object.fromEntries(refs.map((ref, i) => [`s${i}`, ref]))));
    // Layers trickle in: the first pull is downloading when the signal comes.
    proxy.rules.push({
      match: (m, p) => m === "GET" && /\/many\/img\d\/blobs\//.test(p),
      action: { kind: "throttle", bytesPerSecond: 2048 },
    });
    const child = cliSpawn(["prepull", ...r.args, "--json", "--concurrency", "1"], r.env);
    let stdout = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    const before = proxy.log.length;
    await waitFor("a layer download", async () =>
      proxy.log.slice(before).some((l) => l.method === "GET" && /\/many\/img\d\/blobs\//.test(l.path)),
    );
    const exited = new Promise<number | null>((res) => child.on("close", (code) => res(code)));
    child.kill("SIGTERM");
    const code = await exited;
    expect(code).toBe(143);
    const rep = report(stdout);
    expect(rep.images.filter((i) => i.action === "not-attempted")).toHaveLength(2);
    const stopped = rep.images.filter((i) => i.action === "failed");
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({
      errorClass: "interrupted",
      error: "interrupted by SIGTERM",
      attempts: 1,
    });
    // Closing the API connection made the daemon drop its downloads, and keep no half image.
    await waitFor("the daemon to stop downloading", async () => proxy.inFlight() === 0, 30_000);
    expect(() => d.docker(["image", "inspect", stopped[0]!.ref])).toThrow();
  });

  it("--dry-run prints the plan and pulls nothing", async () => {
    rmi(`${proxy.host}/coop/app:2.0.0`);
    const r = recipe(svc({ app: "${REG}/coop/app:2.0.0", web: "nginx:1.25.3" }));
    const before = proxy.log.length;
    const res = await cli(["prepull", ...r.args, "--dry-run"], r.env);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /^pull {2}127\.0\.0\.1:\d+\/coop\/app:2\.0\.0 .*: missing {2}\[sha256:[0-9a-f]{64}\]$/m,
    );
    expect(res.stdout).toMatch(
      /^skip {2}nginx:1\.25\.3 .*: present: the registry's digest {2}\[sha256:[0-9a-f]{64}\]$/m,
    );
    // It asked the registry (HEADs) and pulled nothing.
    expect(proxy.registryHits(before).every((h) => h.method === "HEAD")).toBe(true);
    expect(proxy.registryHits(before)).toHaveLength(2);
  });

  it("after a prepull, a stack deploy starts its services without downloading a layer", async () => {
    rmi(`${proxy.host}/coop/app:1.0.0`);
    const r = recipe(svc({ app: "${REG}/coop/app:1.0.0" }));
    const pre = await cli(["prepull", ...r.args], r.env);
    expect(pre.code).toBe(0);
    await d.swarmInit();
    try {
      const stackFile = path.join(r.dir, "stack.yml");
      writeFileSync(stackFile, svc({ app: `${proxy.host}/coop/app:1.0.0` }));
      const before = proxy.log.length;
      // Async: the deploy resolves the image's digest through the in-process proxy.
      await d.dockerAsync(["stack", "deploy", "--detach=true", "-c", stackFile, "demo"]);
      await waitFor(
        "the service to run",
        async () => d.docker(["service", "ls", "--format", "{{.Replicas}}"]).includes("1/1"),
        60_000,
      );
      // The deploy's digest resolution may read the image config blob (its platform); no layer.
      const layers = proxy.log
        .slice(before)
        .filter((l) => l.path.includes("/blobs/") && !l.path.endsWith(app1.id));
      expect(layers).toEqual([]);
      d.docker(["stack", "rm", "demo"]);
    } finally {
      d.docker(["swarm", "leave", "--force"]);
    }
  });
});
