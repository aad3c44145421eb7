// Real docker pull failures, provoked on the testbed, classified. With IMAGEKEEPER_CAPTURE=1 the
// outputs are saved under test/fixtures/pull-errors/ for the unit table (test/unit/classify.test.ts),
// so that table is real docker output, never invented text.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { classify } from "../../src/pull/classify.js";
import { type FaultProxy, HUB_QUOTA_BODY, startProxy } from "../support/proxy.js";
import {
  type Daemon,
  DOCKER_CLI,
  freePort,
  type LoopDisk,
  makeLoopDisk,
  pushImage,
  type Registry,
  startDaemon,
  startRegistry,
} from "../support/testbed.js";

const CAPTURE = process.env.IMAGEKEEPER_CAPTURE === "1";
const FIXTURES = path.resolve("test/fixtures/pull-errors");

let reg: Registry;
let authReg: Registry;
let proxy: FaultProxy;
let d: Daemon;

beforeAll(async () => {
  reg = await startRegistry();
  authReg = await startRegistry({ htpasswd: { user: "ci", password: "s3cret-token" } });
  proxy = await startProxy(reg.host);
  d = await startDaemon();
  await pushImage(reg.host, "coop/app", "1.0.0");
  await pushImage(authReg.host, "private/app", "1.0.0", { auth: { user: "ci", password: "s3cret-token" } });
});
afterAll(async () => {
  await d?.stop();
  await proxy?.close();
  await reg?.stop();
  await authReg?.stop();
});
beforeEach(() => proxy.reset());

/** `docker pull REF` against the test daemon; resolves with the combined output of a failure. */
function pullOutput(ref: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      DOCKER_CLI,
      ["pull", ref],
      { env: { ...process.env, ...d.env, ...env } },
      (err, stdout, stderr) => {
        if (!err) reject(new Error(`pull of ${ref} unexpectedly succeeded`));
        else resolve(`${stdout}${stderr}`);
      },
    );
  });
}

function check(name: string, output: string, cls: string) {
  if (CAPTURE) {
    mkdirSync(FIXTURES, { recursive: true });
    // Ports and digests vary between runs: the fixture keeps the text docker wrote, made stable.
    const stable = output.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:5000").replace(/\/tmp\/[\w.-]+/g, "/tmp/X");
    writeFileSync(path.join(FIXTURES, `${name}.txt`), stable);
  }
  expect(classify(output).cls, output).toBe(cls);
}

const p = (repoTag: string) => `${proxy.host}/${repoTag}`;

describe("docker pull failures, classified", () => {
  it("not-found: a tag the registry does not have", async () => {
    check("not-found.manifest-unknown", await pullOutput(p("coop/app:9.9.9")), "not-found");
  });

  it("not-found: a repository the registry does not have", async () => {
    check("not-found.repository", await pullOutput(p("coop/nope:1.0")), "not-found");
  });

  it("unauthorized: no credentials for a registry that needs them", async () => {
    check(
      "unauthorized.no-credentials",
      await pullOutput(`${authReg.host}/private/app:1.0.0`),
      "unauthorized",
    );
  });

  it("unauthorized: wrong credentials", async () => {
    const cfg = path.join(d.dir, "wrongcfg");
    mkdirSync(cfg, { recursive: true });
    writeFileSync(
      path.join(cfg, "config.json"),
      JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from("ci:wrong").toString("base64") } } }),
    );
    check(
      "unauthorized.wrong-password",
      await pullOutput(`${authReg.host}/private/app:1.0.0`, { DOCKER_CONFIG: cfg }),
      "unauthorized",
    );
  });

  it("denied: the registry refuses access", async () => {
    proxy.rules.push({
      match: (_m, u) => u.includes("/manifests/"),
      action: {
        kind: "status",
        status: 403,
        body: JSON.stringify({
          errors: [{ code: "DENIED", message: "requested access to the resource is denied" }],
        }),
      },
    });
    check("denied.403", await pullOutput(p("coop/app:1.0.0")), "denied");
  });

  it("rate-limited: Docker Hub's quota answer", async () => {
    proxy.rules.push({
      match: (_m, u) => u.includes("/manifests/"),
      action: { kind: "status", status: 429, body: HUB_QUOTA_BODY },
    });
    check("rate-limited.hub-quota", await pullOutput(p("coop/app:1.0.0")), "rate-limited");
  });

  it("throttled: a bare 429", async () => {
    proxy.rules.push({
      match: (_m, u) => u.includes("/manifests/"),
      action: {
        kind: "status",
        status: 429,
        body: JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] }),
      },
    });
    check("throttled.bare-429", await pullOutput(p("coop/app:1.0.0")), "throttled");
  });

  it("registry-unavailable: 503 without a body", async () => {
    proxy.rules.push({
      match: (_m, u) => u.includes("/manifests/"),
      action: { kind: "status", status: 503, body: "" },
    });
    check("registry-unavailable.503", await pullOutput(p("coop/app:1.0.0")), "registry-unavailable");
  });

  it("registry-unavailable: 502 from a gateway", async () => {
    proxy.rules.push({
      match: (_m, u) => u.includes("/manifests/"),
      action: {
        kind: "status",
        status: 502,
        body: "<html>bad gateway</html>",
        headers: { "Content-Type": "text/html" },
      },
    });
    check("registry-unavailable.502-html", await pullOutput(p("coop/app:1.0.0")), "registry-unavailable");
  });

  it("network: the connection is reset", async () => {
    proxy.rules.push({ match: (_m, u) => u.includes("/manifests/"), action: { kind: "reset" } });
    check("network.reset", await pullOutput(p("coop/app:1.0.0")), "network");
  });

  it("network: nothing listens on the registry's port", async () => {
    const port = await freePort();
    check("network.refused", await pullOutput(`127.0.0.1:${port}/coop/app:1.0.0`), "network");
  });

  it("network (ambiguous): an unknown host", async () => {
    check("network.no-such-host", await pullOutput("registry.invalid/coop/app:1.0.0"), "network");
  });

  it("bad-reference: an empty tag", async () => {
    check("bad-reference.empty-tag", await pullOutput("nginx:"), "bad-reference");
  });

  it("daemon-unavailable: no daemon at DOCKER_HOST", async () => {
    check(
      "daemon-unavailable.no-socket",
      await pullOutput("nginx:1.25", { DOCKER_HOST: `unix://${d.dir}/none.sock` }),
      "daemon-unavailable",
    );
  });

  it("disk-full: the data root has no room for the layers", async () => {
    let disk: LoopDisk | undefined;
    let small: Daemon | undefined;
    try {
      disk = makeLoopDisk(40);
      small = await startDaemon({ dataRoot: disk.dir });
      await pushImage(reg.host, "big/blob", "1.0", { sizeBytes: 48 * 1024 * 1024 });
      const out = await new Promise<string>((resolve) => {
        execFile(
          DOCKER_CLI,
          ["pull", `${reg.host}/big/blob:1.0`],
          { env: { ...process.env, ...small!.env } },
          (_e, so, se) => resolve(`${so}${se}`),
        );
      });
      check("disk-full.no-space", out, "disk-full");
    } finally {
      await small?.stop();
      disk?.unmount();
    }
  });
});
