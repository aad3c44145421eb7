import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { attemptsFor, classify, errorLine, HINTS } from "../../src/pull/classify.js";
import { ERROR_CLASSES } from "../../src/pull/report.js";

// Output captured from the real docker client on the testbed (test/integration/classify.itg.test.ts
// with IMAGEKEEPER_CAPTURE=1). The file name's first part is the expected class.
const FIXTURES = path.resolve("test/fixtures/pull-errors");
const captured = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".txt"))
  .map((f) => [f, f.split(".")[0]!, readFileSync(path.join(FIXTURES, f), "utf8")] as const);

// The same failures through the Engine API (POST /images/create), as the daemon words them in a
// non-2xx answer or the stream's error line (test/integration/pull-api.itg.test.ts).
const API = path.resolve("test/fixtures/pull-errors-api");
const capturedApi = readdirSync(API)
  .filter((f) => f.endsWith(".txt"))
  .map((f) => [f, f.split(".")[0]!, readFileSync(path.join(API, f), "utf8")] as const);

describe("classify: captured Engine API errors", () => {
  it("has a fixture for every class the CLI fixtures have", () => {
    expect(new Set(capturedApi.map((c) => c[1]))).toEqual(new Set(captured.map((c) => c[1])));
  });
  it.each(capturedApi)("%s", (_file, cls, text) => {
    expect(classify(text).cls).toBe(cls);
  });
});

describe("classify: captured docker output", () => {
  it("has fixtures for the classes the testbed can provoke", () => {
    expect(new Set(captured.map((c) => c[1]))).toEqual(
      new Set([
        "bad-reference",
        "daemon-unavailable",
        "denied",
        "disk-full",
        "network",
        "not-found",
        "rate-limited",
        "registry-unavailable",
        "throttled",
        "unauthorized",
      ]),
    );
  });
  it.each(captured)("%s", (_file, cls, text) => {
    expect(classify(text).cls).toBe(cls);
  });
});

// Messages the testbed cannot provoke (Docker Hub itself, TLS, the containerd image store of
// Docker >= 29, client-side timeouts), as quoted in REFERENCE §2 from upstream sources.
describe("classify: upstream message texts", () => {
  it.each([
    [
      "Error response from daemon: pull access denied for nosuchimage, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      "denied",
    ],
    [
      "Error response from daemon: manifest for nginx:9.9 not found: manifest unknown: manifest unknown",
      "not-found",
    ],
    [
      'failed to resolve reference "docker.io/library/nginx:9.9": docker.io/library/nginx:9.9: not found',
      "not-found",
    ],
    [
      "Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
      "rate-limited",
    ],
    [
      'Error response from daemon: Get "https://registry-1.docker.io/v2/": unauthorized: incorrect username or password',
      "unauthorized",
    ],
    [
      'Error response from daemon: Get "https://registry-1.docker.io/v2/": too many failed login attempts for username or IP address',
      "unauthorized",
    ],
    [
      "Error response from daemon: no matching manifest for linux/arm64/v8 in the manifest list entries",
      "unsupported",
    ],
    [
      'Error response from daemon: Get "https://r.example/v2/": x509: certificate signed by unknown authority',
      "tls",
    ],
    ['Error response from daemon: Get "https://r.example/v2/": net/http: TLS handshake timeout', "timeout"],
    [
      'Error response from daemon: Get "https://r.example/v2/": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)',
      "timeout",
    ],
    [
      'Error response from daemon: Get "https://r.example/v2/": dial tcp 10.0.0.1:443: i/o timeout',
      "timeout",
    ],
    ['Error response from daemon: Get "https://r.example/v2/": context deadline exceeded', "timeout"],
    [
      "unexpected status from HEAD request to https://r.example/v2/x/manifests/1: 503 Service Unavailable",
      "registry-unavailable",
    ],
    [
      'Error response from daemon: Get "https://r.example/v2/": dial tcp: lookup r.example on 127.0.0.53:53: server misbehaving',
      "network",
    ],
    ["error pulling image configuration: download failed after attempts=6: unexpected EOF", "network"],
    ["filesystem layer verification failed for digest sha256:abc: blob unknown to registry", "network"],
    // A quota message contains "toomanyrequests" and a URL: the permanent class must win.
    ["toomanyrequests: too many requests: see https://www.docker.com/increase-rate-limit", "rate-limited"],
    ["something nobody has seen before", "unknown"],
  ])("%s", (text, cls) => {
    expect(classify(text).cls).toBe(cls);
  });
});

describe("retry rules", () => {
  it.each([
    ["rate-limited.hub-quota.txt", "never", 1],
    ["not-found.manifest-unknown.txt", "never", 1],
    ["unauthorized.no-credentials.txt", "never", 1],
    ["registry-unavailable.503.txt", "transient", 4],
    ["throttled.bare-429.txt", "transient", 4],
    ["network.reset.txt", "transient", 4],
    ["network.no-such-host.txt", "ambiguous", 3],
  ])("%s: %s, %i attempts of 4", (file, retry, attempts) => {
    const c = classify(readFileSync(path.join(FIXTURES, file), "utf8"));
    expect(c.retry).toBe(retry);
    expect(attemptsFor(c.retry, 4)).toBe(attempts);
  });
  it("never allows more than configured", () => {
    expect(attemptsFor("ambiguous", 2)).toBe(2);
    expect(attemptsFor("transient", 1)).toBe(1);
  });
});

describe("hints and messages", () => {
  it("every class has a hint", () => {
    for (const c of ERROR_CLASSES) expect(HINTS[c].length).toBeGreaterThan(20);
  });
  it("keeps the meaningful line and drops the daemon prefix", () => {
    expect(
      errorLine(
        "1.0.0: Pulling from coop/app\nError response from daemon: manifest unknown: manifest unknown\n",
      ),
    ).toBe("manifest unknown: manifest unknown");
  });
});
