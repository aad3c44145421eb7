// prepull's digest-true policy against a real swarm and real registries (issue 9): a tag moved
// upstream is pulled by the prepull and the deploy after it pulls nothing; a warm prepull costs one
// HEAD per tag; an unreachable registry is a warning for an image the store has; `missing` asks no
// registry; a quota too small for the pulls fails before any pull; and the token flow, with the
// pulling user's credentials from a docker config, from a credential helper, or anonymously.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseChallenge } from "../../src/auth/challenge.js";
import { statusSchema } from "../../src/commands/status.js";
import { http10Stream } from "../../src/docker/http10.js";
import { prepullReportSchema } from "../../src/pull/report.js";
import { cli } from "../support/cli.js";
import { type FaultProxy, startProxy } from "../support/proxy.js";
import {
  type Daemon,
  pushImage,
  type Registry,
  startDaemon,
  startRegistry,
  waitFor,
} from "../support/testbed.js";
import { startTokenRegistry, type TokenRegistry } from "../support/token-registry.js";

const USER = "ci-bot";
const PASSWORD = "dckr_pat_Registry-Test-5b1e";

let reg: Registry;
let proxy: FaultProxy;
let d: Daemon;
let tok: TokenRegistry;
let work: string;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
  // Docker Hub names are served by the daemon's mirror, which is the proxy: Hub itself is
  // unreachable here, as the daemon's own fallback to it shows ("no such host").
  [d, tok] = await Promise.all([
    startDaemon({ mirrors: [`http://${proxy.host}`] }),
    startTokenRegistry(USER, PASSWORD, { publicPrefix: "pub/" }),
  ]);
  work = mkdtempSync(path.join(tmpdir(), "ikreg-"));
});

afterAll(async () => {
  await d?.stop();
  await proxy?.close();
  await reg?.stop();
  await tok?.stop();
});

beforeEach(() => proxy.reset());

let n = 0;
function recipe(images: Record<string, string>, env: Record<string, string> = {}) {
  const dir = path.join(work, `r${++n}`);
  mkdirSync(dir, { recursive: true });
  const compose = `version: "3.8"\nservices:\n${Object.entries(images)
    .map(([k, v]) => `  ${k}:\n    image: ${v}\n`)
    .join("")}`;
  writeFileSync(path.join(dir, "compose.yml"), compose);
  writeFileSync(path.join(dir, "app.env"), `TYPE=reg${n}\nREG=${proxy.host}\n`);
  const state = mkdtempSync(path.join(tmpdir(), "ikstate-"));
  return {
    dir,
    compose,
    state,
    args: ["--recipe", dir, "--env-file", path.join(dir, "app.env")],
    env: { ...d.env, IMAGEKEEPER_STATE_DIR: state, IMAGEKEEPER_RUN_DIR: state, ...env },
  };
}

const report = (stdout: string) => prepullReportSchema.parse(JSON.parse(stdout));
const byRef = (r: ReturnType<typeof report>) => Object.fromEntries(r.images.map((i) => [i.ref, i]));

function rmi(...refs: string[]) {
  for (const r of refs) {
    try {
      d.docker(["image", "rm", r]);
    } catch {
      // not present
    }
  }
}

/** Image events between two daemon times (seconds, fractional). */
async function imageEvents(since: number, until: number): Promise<{ Action: string; id?: string }[]> {
  const out: { Type: string; Action: string; id?: string }[] = [];
  await http10Stream(
    { socketPath: d.socket },
    { method: "GET", path: `/events?since=${since.toFixed(3)}&until=${until.toFixed(3)}` },
    (l) => out.push(JSON.parse(l) as { Type: string; Action: string; id?: string }),
  );
  return out.filter((e) => e.Type === "image");
}

describe("digest-true prepull on a swarm", () => {
  it("pulls a tag moved upstream; the deploy then pulls nothing; a second prepull makes one HEAD per tag", async () => {
    const web1 = await pushImage(reg.host, "coop/web", "1.0", { seed: "web-1" });
    const hub1 = await pushImage(reg.host, "library/nginx", "1.27", { seed: "nginx-1" });
    const r = recipe({ web: "${REG}/coop/web:1.0", proxy: "nginx:1.27" });
    const web = `${proxy.host}/coop/web:1.0`;

    const cold = report((await cli(["prepull", ...r.args, "--json"], r.env)).stdout);
    expect(Object.fromEntries(cold.images.map((i) => [i.ref, [i.action, i.digest]]))).toEqual({
      [web]: ["pulled", web1.digest],
      "nginx:1.27": ["pulled", hub1.digest],
    });

    // Upstream re-pushes both tags (what `postgres:16.4` and friends do routinely).
    const web2 = await pushImage(reg.host, "coop/web", "1.0", { seed: "web-2" });
    const hub2 = await pushImage(reg.host, "library/nginx", "1.27", { seed: "nginx-2" });
    expect([web2.digest, hub2.digest]).not.toContain(web1.digest);

    const moved = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(moved.code).toBe(0);
    const m = byRef(report(moved.stdout));
    expect(m[web]).toMatchObject({ action: "pulled", digest: web2.digest, id: web2.id });
    expect(m[web]!.reason).toMatch(
      /^tag moved: the registry has sha256:[0-9a-f]{12}, the store sha256:[0-9a-f]{12}$/,
    );
    expect(m["nginx:1.27"]).toMatchObject({ action: "pulled", digest: hub2.digest, id: hub2.id });

    await d.swarmInit();
    try {
      const stack = path.join(r.dir, "stack.yml");
      writeFileSync(stack, r.compose.replace("${REG}", proxy.host));
      const since = Date.now() / 1000;
      // The CLI's default --resolve-image always, as abra deploys: the services are pinned to the
      // registry's digests, and the node pulls what it lacks.
      await d.dockerAsync(["stack", "deploy", "--detach=true", "-c", stack, "demo"]);
      await waitFor(
        "both services to run",
        async () =>
          d
            .docker(["service", "ls", "--format", "{{.Replicas}}"])
            .trim()
            .split("\n")
            .every((x) => x === "1/1"),
        90_000,
      );
      const until = Date.now() / 1000;
      const pinned = d.docker([
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        "demo_web",
        "demo_proxy",
      ]);
      expect(pinned.trim().split("\n")).toEqual([`${web}@${web2.digest}`, `nginx:1.27@${hub2.digest}`]);
      // Converged without a single pull.
      expect((await imageEvents(since, until)).filter((e) => e.Action === "pull")).toEqual([]);

      const before = proxy.log.length;
      const again = await cli(["prepull", ...r.args, "--json"], r.env);
      expect(again.code).toBe(0);
      expect(report(again.stdout).images.map((i) => [i.ref, i.action, i.digest])).toEqual([
        [web, "present", web2.digest],
        ["nginx:1.27", "present", hub2.digest],
      ]);
      expect(
        proxy
          .registryHits(before)
          .map((h) => `${h.method} ${h.path}`)
          .sort(),
      ).toEqual(["HEAD /v2/coop/web/manifests/1.0", "HEAD /v2/library/nginx/manifests/1.27"]);
      d.docker(["stack", "rm", "demo"]);

      // The control: the same move under `--pull-policy missing` (skip-if-present, what prepull
      // did before) leaves the pull to the deploy, and the events show it.
      await pushImage(reg.host, "coop/ctl", "1.0", { seed: "ctl-1" });
      const ctl = recipe({ ctl: "${REG}/coop/ctl:1.0" });
      expect((await cli(["prepull", ...ctl.args, "--pull-policy", "missing"], ctl.env)).code).toBe(0);
      await pushImage(reg.host, "coop/ctl", "1.0", { seed: "ctl-2" });
      const skipped = report(
        (await cli(["prepull", ...ctl.args, "--json", "--pull-policy", "missing"], ctl.env)).stdout,
      );
      expect(skipped.images[0]!.action).toBe("present");
      const ctlStack = path.join(ctl.dir, "stack.yml");
      writeFileSync(ctlStack, ctl.compose.replace("${REG}", proxy.host));
      const ctlSince = Date.now() / 1000;
      await d.dockerAsync(["stack", "deploy", "--detach=true", "-c", ctlStack, "ctl"]);
      await waitFor(
        "the control service to run",
        async () =>
          d.docker(["service", "ls", "--filter", "name=ctl_", "--format", "{{.Replicas}}"]).trim() === "1/1",
        90_000,
      );
      expect(
        (await imageEvents(ctlSince, Date.now() / 1000)).filter((e) => e.Action === "pull"),
      ).toHaveLength(1);
      d.docker(["stack", "rm", "ctl"]);
    } finally {
      d.docker(["swarm", "leave", "--force"]);
    }
  });
});

describe("without the registry", () => {
  it("an image the store has passes with a warning when its registry is down", async () => {
    const down = await startProxy(reg.host);
    await pushImage(reg.host, "coop/down", "1.0", { seed: "down-1" });
    const r = recipe({ app: `${down.host}/coop/down:1.0` });
    expect((await cli(["prepull", ...r.args, "--json"], r.env)).code).toBe(0);
    await down.close();
    const res = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(res.code).toBe(0);
    const img = report(res.stdout).images[0]!;
    expect(img).toMatchObject({ action: "present", reason: "present; the registry could not be asked" });
    expect(img.warning).toMatch(/connection refused.*using the local image, as the deploy will/);
    const text = await cli(["prepull", ...r.args], r.env);
    expect(text.code).toBe(0);
    expect(`${text.stdout}${text.stderr}`).toMatch(/could not ask the registry/);
  });

  it("a Hub name whose mirror fails falls back to Docker Hub, as the daemon does, and says both", async () => {
    await pushImage(reg.host, "library/redis", "7.2", { seed: "redis-1" });
    const r = recipe({ cache: "redis:7.2" });
    expect((await cli(["prepull", ...r.args, "--json"], r.env)).code).toBe(0);
    proxy.rules.push({
      match: (m, p) => m === "HEAD" && p.includes("/library/redis/"),
      action: { kind: "status", status: 503 },
    });
    const img = report((await cli(["prepull", ...r.args, "--json"], r.env)).stdout).images[0]!;
    expect(img.action).toBe("present");
    expect(img.warning).toMatch(
      new RegExp(`mirror ${proxy.host.replace(/\./g, "\\.")}: unexpected status .*503 Service Unavailable`),
    );
    expect(img.warning).toMatch(/registry-1\.docker\.io: .*(no such host|temporary failure|i\/o timeout)/);
  });

  it("--pull-policy missing asks no registry at all", async () => {
    await pushImage(reg.host, "coop/offline", "1.0", { seed: "off-1" });
    await pushImage(reg.host, "library/caddy", "2.8", { seed: "caddy-1" });
    const r = recipe({ app: "${REG}/coop/offline:1.0", web: "caddy:2.8" });
    expect((await cli(["prepull", ...r.args, "--json"], r.env)).code).toBe(0);
    await pushImage(reg.host, "coop/offline", "1.0", { seed: "off-2" }); // moved: missing does not care
    const before = proxy.log.length;
    // Which of Node's own modules the run loaded: a warm `missing` prepull needs no HTTP client.
    const hook = path.join(r.state, "modules.cjs");
    const loaded = path.join(r.state, "modules.txt");
    writeFileSync(
      hook,
      `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(loaded)}, process.moduleLoadList.join("\\n")));\n`,
    );
    const res = await cli(["prepull", ...r.args, "--json", "--pull-policy", "missing"], {
      ...r.env,
      NODE_OPTIONS: `--require ${hook}`,
    });
    expect(res.code).toBe(0);
    expect(report(res.stdout).images.map((i) => i.action)).toEqual(["present", "present"]);
    expect(proxy.log.slice(before)).toEqual([]);
    const modules = readFileSync(loaded, "utf8").split("\n");
    expect(modules).toContain("NativeModule net");
    expect(modules.filter((m) => /^NativeModule (http|https|_http_client|tls)$/.test(m))).toEqual([]);
  });

  it("IMAGEKEEPER_HUB_REGISTRY replaces Docker Hub for Hub names on a daemon without mirrors", async () => {
    const plain = await startDaemon();
    try {
      const hub = await pushImage(reg.host, "library/traefik", "3.1", { seed: "traefik-1" });
      const r = recipe(
        { lb: "traefik:3.1" },
        { ...plain.env, IMAGEKEEPER_HUB_REGISTRY: `http://${proxy.host}` },
      );
      const before = proxy.log.length;
      const res = await cli(["prepull", ...r.args, "--json", "--dry-run"], r.env);
      expect(res.code).toBe(0);
      expect(report(res.stdout).images[0]).toMatchObject({ action: "not-attempted", digest: hub.digest });
      expect(proxy.registryHits(before).map((h) => `${h.method} ${h.path}`)).toEqual([
        "HEAD /v2/library/traefik/manifests/3.1",
      ]);
    } finally {
      await plain.stop();
    }
  });
});

describe("Docker Hub's quota", () => {
  const quotaHeaders = (remaining: number) => ({
    "ratelimit-limit": "100;w=21600",
    "ratelimit-remaining": `${remaining};w=21600`,
    "docker-ratelimit-source": "192.0.2.44",
  });

  it("fails before any pull, as rate-limited, when the pulls needed exceed what remains", async () => {
    await Promise.all(["q1", "q2", "q3"].map((q) => pushImage(reg.host, `library/${q}`, "1", { seed: q })));
    const r = recipe({ a: "q1:1", b: "q2:1", c: "q3:1" });
    proxy.rules.push({
      match: (m, p) => m === "HEAD" && /\/library\/q\d\/manifests\//.test(p),
      action: { kind: "headers", headers: quotaHeaders(2) },
    });
    const before = proxy.log.length;
    const res = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(res.code).toBe(1);
    const rep = report(res.stdout);
    expect(rep.ok).toBe(false);
    for (const i of rep.images) {
      expect(i).toMatchObject({ action: "failed", errorClass: "rate-limited", attempts: 0 });
      expect(i.error).toMatch(
        /needs 3 pulls from docker\.io, 2 of 100 per 6h remain, counted against 192\.0\.2\.44; the window has reset by \d{4}-\d\d-\d\dT/,
      );
    }
    expect(rep.quota).toEqual([
      expect.objectContaining({
        registry: "docker.io",
        endpoint: proxy.host,
        limit: 100,
        remaining: 2,
        needed: 3,
        windowSeconds: 21600,
      }),
    ]);
    // Nothing was pulled: no manifest GET, no blob.
    expect(proxy.registryHits(before).filter((h) => h.method !== "HEAD")).toEqual([]);

    // status shows the last known quota.
    const st = statusSchema.parse(JSON.parse((await cli(["status", "--json"], r.env)).stdout));
    expect(st.quota).toEqual([
      expect.objectContaining({
        registry: "docker.io",
        remaining: 2,
        limit: 100,
        source: "192.0.2.44",
        pulledAfter: 0,
      }),
    ]);
    expect((await cli(["status"], r.env)).stdout).toMatch(
      /^quota {4}docker\.io: 2 of 100 pulls left per 6h0m /m,
    );

    // The text form names the numbers too, once, with the fix.
    const text = await cli(["prepull", ...r.args], r.env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/rate-limited: pull rate limit: this prepull needs 3 pulls/);
  });

  it("pulls when exactly enough remain, and records the pulls made since", async () => {
    await Promise.all(["q4", "q5"].map((q) => pushImage(reg.host, `library/${q}`, "1", { seed: q })));
    const r = recipe({ a: "q4:1", b: "q5:1" });
    proxy.rules.push({
      match: (m, p) => m === "HEAD" && /\/library\/q\d\/manifests\//.test(p),
      action: { kind: "headers", headers: quotaHeaders(2) },
    });
    const res = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(res.code).toBe(0);
    expect(report(res.stdout).images.map((i) => i.action)).toEqual(["pulled", "pulled"]);
    const st = statusSchema.parse(JSON.parse((await cli(["status", "--json"], r.env)).stdout));
    expect(st.quota[0]).toMatchObject({ registry: "docker.io", remaining: 2, pulledAfter: 2 });
  });
});

describe("the token flow (a Bearer-auth registry, as Docker Hub)", () => {
  let realmBearer: (scope: string) => Promise<string>;
  beforeAll(async () => {
    const ch = parseChallenge((await fetch(`http://${tok.host}/v2/`)).headers.get("www-authenticate"))!;
    realmBearer = async (scope: string) => {
      const u = new URL(ch.params.realm!);
      u.searchParams.set("service", ch.params.service!);
      u.searchParams.set("scope", scope);
      const t = await fetch(u, {
        headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}` },
      });
      return `Bearer ${((await t.json()) as { token: string }).token}`;
    };
    for (const repo of ["priv/app", "priv/db", "pub/app"])
      await pushImage(tok.host, repo, "1.0", {
        authorization: await realmBearer(`repository:${repo}:push,pull`),
        seed: repo,
      });
  });

  /** Token requests imagekeeper made (client_id=imagekeeper) since index `since`. */
  const ours = (since: number) =>
    tok
      .tokenRequests()
      .slice(since)
      .filter((t) => t.clientId === "imagekeeper");

  it("credentials from the docker config: one token for both repositories, then the pulls", async () => {
    const cfg = mkdtempSync(path.join(tmpdir(), "ikcfg-"));
    writeFileSync(
      path.join(cfg, "config.json"),
      JSON.stringify({
        auths: { [tok.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } },
      }),
    );
    const r = recipe(
      { app: `${tok.host}/priv/app:1.0`, db: `${tok.host}/priv/db:1.0` },
      // Debug logs every registry request: still no secret in them.
      { DOCKER_CONFIG: cfg, IMAGEKEEPER_LOG_LEVEL: "debug" },
    );
    const since = tok.tokenRequests().length;
    const res = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(res.code, res.stderr).toBe(0);
    expect(report(res.stdout).images.map((i) => [i.action, i.digest?.slice(0, 7)])).toEqual([
      ["pulled", "sha256:"],
      ["pulled", "sha256:"],
    ]);
    expect(ours(since)).toEqual([
      expect.objectContaining({
        account: USER,
        withCredentials: true,
        scopes: ["repository:priv/app:pull", "repository:priv/db:pull"],
      }),
    ]);
    expect(res.stderr).toMatch(/ registry {2}method=HEAD /);
    for (const out of [res.stdout, res.stderr]) {
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString("base64"));
    }
  });

  it("credentials from a credsStore helper (docker-credential-NAME get)", async () => {
    const bin = mkdtempSync(path.join(tmpdir(), "ikbin-"));
    const asked = path.join(bin, "asked");
    // The helper protocol: the registry key on stdin, {ServerURL, Username, Secret} on stdout.
    writeFileSync(
      path.join(bin, "docker-credential-test"),
      `#!/bin/sh
[ "$1" = get ] || exit 2
read -r key
echo "$key" >> ${asked}
if [ "$key" = "${tok.host}" ]; then
  printf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}\\n' "$key"
else
  echo "credentials not found in native keychain"; exit 1
fi
`,
    );
    chmodSync(path.join(bin, "docker-credential-test"), 0o755);
    const cfg = mkdtempSync(path.join(tmpdir(), "ikcfg-"));
    writeFileSync(path.join(cfg, "config.json"), JSON.stringify({ credsStore: "test" }));
    rmi(`${tok.host}/priv/app:1.0`);
    const r = recipe(
      { app: `${tok.host}/priv/app:1.0` },
      { DOCKER_CONFIG: cfg, PATH: `${bin}:${process.env.PATH}` },
    );
    const since = tok.tokenRequests().length;
    const res = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(res.code, res.stderr).toBe(0);
    expect(report(res.stdout).images[0]).toMatchObject({ action: "pulled" });
    expect(ours(since)).toEqual([expect.objectContaining({ account: USER, withCredentials: true })]);
    // Asked once for the registry, though both the HEAD and the pull needed the credential.
    expect(readFileSync(asked, "utf8")).toBe(`${tok.host}\n`);
  });

  it("anonymously: a public repository's token comes without credentials; a private one is unauthorized", async () => {
    const cfg = mkdtempSync(path.join(tmpdir(), "ikcfg-"));
    const r = recipe({ pub: `${tok.host}/pub/app:1.0` }, { DOCKER_CONFIG: cfg });
    const since = tok.tokenRequests().length;
    const res = await cli(["prepull", ...r.args, "--json"], r.env);
    expect(res.code, res.stderr).toBe(0);
    expect(report(res.stdout).images[0]).toMatchObject({ action: "pulled" });
    expect(ours(since)).toEqual([
      expect.objectContaining({ account: null, withCredentials: false, scopes: ["repository:pub/app:pull"] }),
    ]);

    rmi(`${tok.host}/priv/db:1.0`);
    const priv = recipe({ db: `${tok.host}/priv/db:1.0` }, { DOCKER_CONFIG: cfg });
    const bad = await cli(["prepull", ...priv.args, "--json"], priv.env);
    expect(bad.code).toBe(1);
    expect(report(bad.stdout).images[0]).toMatchObject({
      action: "failed",
      errorClass: "unauthorized",
      attempts: 1,
    });
  });
});
