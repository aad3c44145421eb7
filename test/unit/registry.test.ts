import { describe, expect, it } from "vitest";
import { classify } from "../../src/pull/classify.js";
import { MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES } from "../../src/registry/accept.js";
import { daemonRegistryConfig } from "../../src/registry/daemon-config.js";
import {
  type DaemonRegistryConfig,
  DOCKER_HUB_API,
  endpointsFor,
  isInsecureRegistry,
  NO_DAEMON_REGISTRY_CONFIG,
} from "../../src/registry/endpoints.js";
import { parseQuotaHeaders, parseQuotaValue } from "../../src/registry/quota.js";
import { manifestFailure, manifestHeaders, manifestUrl, validDigest } from "../../src/registry/requests.js";
import { describeNetError } from "../../src/registry/transport.js";

describe("the manifest Accept header: what the docker daemon accepts", () => {
  it("names manifest lists, OCI indexes, schema 2 and OCI manifests, and nothing else", () => {
    expect([...MANIFEST_MEDIA_TYPES].sort()).toEqual([
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.oci.image.manifest.v1+json",
    ]);
    expect(MANIFEST_ACCEPT.split(", ").sort()).toEqual([...MANIFEST_MEDIA_TYPES].sort());
  });
  it.each([
    [undefined, { Accept: MANIFEST_ACCEPT }],
    ["Bearer t0k", { Accept: MANIFEST_ACCEPT, Authorization: "Bearer t0k" }],
  ])("headers with authorization %s", (auth, headers) => {
    expect(manifestHeaders(auth)).toEqual(headers);
  });
  it("asks the repository path at the tag", () => {
    expect(manifestUrl("http", "127.0.0.1:5000", "library/nginx", "1.25").href).toBe(
      "http://127.0.0.1:5000/v2/library/nginx/manifests/1.25",
    );
  });
});

describe("quota headers", () => {
  it.each([
    ["100;w=21600", { value: 100, window: 21600 }],
    ["76;w=21600", { value: 76, window: 21600 }],
    ["0;w=21600", { value: 0, window: 21600 }],
    [" 100 ; w = 21600 ", { value: 100, window: 21600 }],
    ["100", { value: 100, window: undefined }],
    ['100;w=21600;comment="x"', { value: 100, window: 21600 }],
    ["100;w=", undefined],
    ["100;w=abc", undefined],
    ["-1;w=21600", undefined],
    ["abc", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("%j → %j", (text, value) => {
    expect(parseQuotaValue(text)).toEqual(value);
  });

  const hub = { "ratelimit-limit": "100;w=21600", "ratelimit-remaining": "76;w=21600" };
  it.each([
    [
      "Docker Hub's pair",
      hub,
      { limit: 100, remaining: 76, windowSeconds: 21600, resetSeconds: undefined, source: undefined },
    ],
    [
      "with source and reset",
      { ...hub, "docker-ratelimit-source": "203.0.113.7", "ratelimit-reset": "120" },
      { limit: 100, remaining: 76, windowSeconds: 21600, resetSeconds: 120, source: "203.0.113.7" },
    ],
    [
      "the window only on the limit",
      { "ratelimit-limit": "100;w=21600", "ratelimit-remaining": "3" },
      { limit: 100, remaining: 3, windowSeconds: 21600, resetSeconds: undefined, source: undefined },
    ],
    ["none (an authenticated, unlimited account)", {}, undefined],
    ["only the limit", { "ratelimit-limit": "100;w=21600" }, undefined],
    ["only the remaining", { "ratelimit-remaining": "7;w=21600" }, undefined],
    ["malformed remaining", { ...hub, "ratelimit-remaining": "lots" }, undefined],
    ["remaining above the limit", { ...hub, "ratelimit-remaining": "101;w=21600" }, undefined],
    [
      "remaining equal to the limit",
      { ...hub, "ratelimit-remaining": "100;w=21600" },
      { limit: 100, remaining: 100, windowSeconds: 21600, resetSeconds: undefined, source: undefined },
    ],
    [
      "a malformed reset is ignored",
      { ...hub, "ratelimit-reset": "soon" },
      { limit: 100, remaining: 76, windowSeconds: 21600, resetSeconds: undefined, source: undefined },
    ],
  ])("%s", (_name, headers, quota) => {
    expect(parseQuotaHeaders(headers)).toEqual(quota);
  });
});

const cfg = (o: Partial<DaemonRegistryConfig> = {}): DaemonRegistryConfig => ({
  ...NO_DAEMON_REGISTRY_CONFIG,
  ...o,
});

describe("endpoints: the daemon's order", () => {
  const hub = { domain: "docker.io" };
  const short = (o: Partial<DaemonRegistryConfig>, domain: string, override?: string) =>
    endpointsFor({ domain }, cfg(o), override).map(
      (e) =>
        `${e.mirror ? "mirror " : ""}${e.schemes.join("+")}://${e.host}${e.verifyTls ? "" : " (no verify)"} key=${e.credentialKey}${e.knownChallenge ? " known" : ""}`,
    );
  it.each([
    [
      "Docker Hub, no mirror",
      {},
      "docker.io",
      undefined,
      [`https://${DOCKER_HUB_API} key=https://index.docker.io/v1/ known`],
    ],
    [
      "Docker Hub behind two mirrors",
      { mirrors: ["http://127.0.0.1:5001", "mirror.example"] },
      "docker.io",
      undefined,
      [
        "mirror http://127.0.0.1:5001 (no verify) key=https://index.docker.io/v1/",
        "mirror https://mirror.example key=https://index.docker.io/v1/",
        `https://${DOCKER_HUB_API} key=https://index.docker.io/v1/ known`,
      ],
    ],
    [
      "Docker Hub replaced (tests)",
      { mirrors: ["http://127.0.0.1:5001"] },
      "docker.io",
      "http://127.0.0.1:5002",
      [
        "mirror http://127.0.0.1:5001 (no verify) key=https://index.docker.io/v1/",
        "http://127.0.0.1:5002 key=https://index.docker.io/v1/",
      ],
    ],
    [
      "a loopback registry is insecure",
      {},
      "127.0.0.1:5000",
      undefined,
      ["https+http://127.0.0.1:5000 (no verify) key=127.0.0.1:5000"],
    ],
    [
      "localhost too",
      {},
      "localhost:5000",
      undefined,
      ["https+http://localhost:5000 (no verify) key=localhost:5000"],
    ],
    [
      "a registry by name",
      {},
      "registry.example.org",
      undefined,
      ["https://registry.example.org key=registry.example.org"],
    ],
    [
      "a registry listed as insecure",
      { insecureHosts: ["registry.example.org:5000"] },
      "registry.example.org:5000",
      undefined,
      ["https+http://registry.example.org:5000 (no verify) key=registry.example.org:5000"],
    ],
  ])("%s", (_n, o, domain, override, want) => {
    expect(short(o, domain, override)).toEqual(want);
  });
  it("a mirror that is not a URL is skipped", () => {
    expect(endpointsFor(hub, cfg({ mirrors: ["ftp://x", "http://[bad"] })).map((e) => e.host)).toEqual([
      DOCKER_HUB_API,
    ]);
  });
  it.each([
    ["10.1.2.3:5000", ["10.0.0.0/8"], true],
    ["10.255.255.255", ["10.0.0.0/8"], true],
    ["11.0.0.0", ["10.0.0.0/8"], false],
    ["9.255.255.255", ["10.0.0.0/8"], false],
    ["192.168.1.1", ["192.168.1.0/24"], true],
    ["192.168.2.1", ["192.168.1.0/24"], false],
    ["192.168.1.1", ["0.0.0.0/0"], true],
    ["127.0.0.1:5000", ["127.0.0.0/8"], true],
    ["127.0.0.1:5000", [], false],
    ["registry.example.org", ["0.0.0.0/0"], false],
  ])("%s in %j: insecure %s", (host, cidrs, insecure) => {
    expect(isInsecureRegistry(host, cfg({ insecureCidrs: cidrs }))).toBe(insecure);
  });
});

describe("the daemon's RegistryConfig", () => {
  it("gives mirrors, CIDRs and the names listed insecure", () => {
    expect(
      daemonRegistryConfig({
        Mirrors: ["http://127.0.0.1:5001/"],
        InsecureRegistryCIDRs: ["127.0.0.0/8"],
        IndexConfigs: {
          "docker.io": { Name: "docker.io", Secure: true },
          "r.example:5000": { Name: "r.example:5000", Secure: false },
        },
      }),
    ).toEqual({
      mirrors: ["http://127.0.0.1:5001/"],
      insecureCidrs: ["127.0.0.0/8"],
      insecureHosts: ["r.example:5000"],
    });
  });
  it("defaults to the daemon's own defaults without an answer", () => {
    expect(daemonRegistryConfig(undefined)).toEqual(NO_DAEMON_REGISTRY_CONFIG);
  });
});

describe("failed answers are worded for the classifier", () => {
  const u = new URL("https://r.example/v2/coop/app/manifests/1.0");
  it.each([
    [401, undefined, "unauthorized"],
    [403, undefined, "denied"],
    [404, undefined, "not-found"],
    [429, undefined, "throttled"],
    [429, { remaining: 0, limit: 100 }, "rate-limited"],
    [429, { remaining: 5, limit: 100 }, "throttled"],
    [500, undefined, "registry-unavailable"],
    [502, undefined, "registry-unavailable"],
    [503, undefined, "registry-unavailable"],
    [504, undefined, "registry-unavailable"],
  ])("%i (quota %j) → %s", (status, quota, cls) => {
    expect(classify(manifestFailure(u, status, "coop/app", "1.0", quota)).cls).toBe(cls);
  });
  it.each([
    ["ECONNREFUSED", "network"],
    ["ECONNRESET", "network"],
    ["ENOTFOUND", "network"],
    ["EAI_AGAIN", "network"],
    ["ETIMEDOUT", "timeout"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "tls"],
    ["ERR_SSL_WRONG_VERSION_NUMBER", "tls"],
  ])("%s → %s", (code, cls) => {
    const e = Object.assign(
      new Error(code === "ERR_SSL_WRONG_VERSION_NUMBER" ? "wrong version number" : "x"),
      { code },
    );
    expect(classify(describeNetError(u, "HEAD", e).message).cls).toBe(cls);
  });
  it.each([
    [`sha256:${"a".repeat(64)}`, `sha256:${"a".repeat(64)}`],
    [[`sha256:${"b".repeat(64)}`], `sha256:${"b".repeat(64)}`],
    ["sha256:short", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("digest %j → %j", (v, d) => {
    expect(validDigest(v)).toBe(d);
  });
});
