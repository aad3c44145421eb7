// Classification rule by rule: each phrase a rule lists, alone, lands in its class; where two
// rules' phrases meet in one message the permanent rule wins; the message shown is docker's last
// error line; and what each class allows in retries. The captured fixtures (classify.test.ts) show
// real output is handled; these pin every alternative, so a dropped or narrowed one fails a test.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { attemptsFor, classify, errorLine } from "../../src/pull/classify.js";

const FIXTURES = path.resolve("test/fixtures/pull-errors");
const fixture = (f: string) => readFileSync(path.join(FIXTURES, f), "utf8");

describe("each alternative of each rule, alone", () => {
  it.each([
    // rate-limited
    ["toomanyrequests: You have reached your pull rate limit.", "rate-limited"],
    ["see https://www.docker.com/increase-rate-limit", "rate-limited"],
    // daemon-unavailable
    ["Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", "daemon-unavailable"],
    ["Is the docker daemon running?", "daemon-unavailable"],
    [
      'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.24/images/json": dial unix /var/run/docker.sock: connect: permission denied',
      "daemon-unavailable",
    ],
    ["dial unix /run/docker.sock: connect: no such file or directory", "daemon-unavailable"],
    ["dial unix /run/docker.sock: connect: connection refused", "daemon-unavailable"],
    // disk-full
    ["write /var/lib/docker/tmp/GetImageBlob1: no space left on device", "disk-full"],
    // bad-reference
    ["invalid reference format", "bad-reference"],
    ["invalid repository name (Nginx), cannot specify 64-byte hexadecimal strings", "bad-reference"],
    ["invalid reference format: repository name must be lowercase", "bad-reference"],
    ["repository name (library/Nginx) must be lowercase", "bad-reference"],
    // unauthorized
    ["too many failed login attempts for username or IP address", "unauthorized"],
    ["unauthorized: incorrect username or password", "unauthorized"],
    ["no basic auth credentials", "unauthorized"],
    ["unauthorized: access to the requested resource is not authorized", "unauthorized"],
    ["authentication required", "unauthorized"],
    ["unexpected status from HEAD request: 401 Unauthorized", "unauthorized"],
    // denied
    ["pull access denied for nosuchimage", "denied"],
    ["requested access to the resource is denied", "denied"],
    ["denied: access forbidden", "denied"],
    ["Error response from daemon: denied", "denied"],
    ["Error response from daemon: denied: access forbidden", "denied"],
    ["insufficient_scope: authorization failed", "denied"],
    ["unexpected status from GET request: 403 Forbidden", "denied"],
    // unsupported
    ["no matching manifest for linux/arm64/v8 in the manifest list entries", "unsupported"],
    ["unsupported manifest media type and no default available", "unsupported"],
    [
      "image with reference x was found but does not match the specified platform: cannot be used on this platform",
      "unsupported",
    ],
    ["support for schema 1 image is removed", "unsupported"],
    [
      "Docker Image Format v1 and Docker Image manifest version 2, schema 1 manifest is not supported",
      "unsupported",
    ],
    ["pulling schema 1 manifest is deprecated", "unsupported"],
    ["unknown media type application/x", "unsupported"],
    // not-found
    ["manifest unknown", "not-found"],
    ["manifest for nginx:9.9 not found", "not-found"],
    ["repository coop/nosuchapp not found", "not-found"],
    ["name unknown", "not-found"],
    ["docker.io/library/nginx:9.9: not found", "not-found"],
    ["unexpected status from GET request: 404 Not Found", "not-found"],
    // tls
    ["x509: certificate signed by unknown authority", "tls"],
    ["tls: failed to verify certificate", "tls"],
    ["remote error: tls: bad certificate", "tls"],
    ["tls: first record does not look like a TLS handshake", "tls"],
    ["tls: unrecognized name", "tls"],
    ["remote error: tls: internal error", "tls"],
    ["certificate signed by unknown authority", "tls"],
    ["certificate has expired or is not yet valid", "tls"],
    ["certificate is not valid for any names", "tls"],
    ["certificate is valid for a.example, not r.example", "tls"],
    ["http: server gave HTTP response to HTTPS client", "tls"],
    // throttled
    ["toomanyrequests: retry later", "throttled"],
    ["too many requests", "throttled"],
    ["unexpected status: 429", "throttled"],
    // registry-unavailable: any 5xx after containerd's / docker's status phrases, and 500-504 anywhere
    ["received unexpected HTTP status: 507 Insufficient Storage", "registry-unavailable"],
    ["unexpected status from GET request to https://r.example/v2/: 520", "registry-unavailable"],
    ["request failed with status code 521", "registry-unavailable"],
    ["error from registry: upstream said 522", "registry-unavailable"],
    ["HTTP/1.1 500 Internal Server Error", "registry-unavailable"],
    ["got 502 from the mirror", "registry-unavailable"],
    ["504", "registry-unavailable"],
    // timeout
    ["dial tcp 10.0.0.1:443: i/o timeout", "timeout"],
    ["net/http: TLS handshake timeout", "timeout"],
    ["(Client.Timeout exceeded while awaiting headers)", "timeout"],
    ["context deadline exceeded", "timeout"],
    ["net/http: timeout awaiting response headers", "timeout"],
    ["net/http: request canceled while waiting for connection", "timeout"],
    // network, transient
    ["read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", "network"],
    ["dial tcp 127.0.0.1:5000: connect: connection refused", "network"],
    ["write: broken pipe", "network"],
    ["connect: network is unreachable", "network"],
    ["lookup r.example on 127.0.0.53:53: server misbehaving", "network"],
    ["unexpected EOF", "network"],
    ["Get https://r.example/v2/: EOF", "network"],
    ["http2: server sent GOAWAY and closed the connection", "network"],
    ["use of closed network connection", "network"],
    // network, ambiguous
    ["dial tcp: lookup nosuch.example: no such host", "network"],
    ["Temporary failure in name resolution", "network"],
    ["blob unknown to registry", "network"],
  ])("%s → %s", (text, cls) => {
    expect(classify(text).cls).toBe(cls);
  });
});

describe("where two rules meet, the earlier (permanent) one wins", () => {
  it.each([
    // The docker socket refusing is the daemon, not the registry's network.
    ["dial unix /var/run/docker.sock: connect: connection refused", "daemon-unavailable", "never"],
    // A full disk during a download that then broke off.
    ["failed to register layer: write /x: no space left on device: unexpected EOF", "disk-full", "never"],
    // Hub's quota text carries "toomanyrequests", which alone is only throttling.
    ["toomanyrequests: You have reached your pull rate limit", "rate-limited", "never"],
    // An auth failure reported with a 404-ish URL tail.
    ["unauthorized: authentication required: manifests/latest: not found", "unauthorized", "never"],
    // A denial that mentions the repository may not exist.
    ["pull access denied for x, repository does not exist: manifest unknown", "denied", "never"],
    // A wrong-platform manifest is not a missing one.
    ["no matching manifest for linux/arm64 in the manifest list entries: not found", "unsupported", "never"],
    // A permanent 404 in a message that also says 503 elsewhere is still not found.
    ["404 Not Found (after a 503 Service Unavailable retry)", "not-found", "never"],
    // A certificate failure is not a timeout, even when the handshake also timed out later.
    ["x509: certificate has expired; i/o timeout", "tls", "never"],
    // 429 with a 503 in it: throttling first.
    ["toomanyrequests: 503 Service Unavailable", "throttled", "transient"],
    // A 5xx with a reset connection: the registry's fault, retried either way.
    ["502 Bad Gateway: connection reset by peer", "registry-unavailable", "transient"],
    // A timeout whose dial also failed DNS: a timeout (transient, full retries).
    ["dial tcp: lookup r.example: i/o timeout; no such host", "timeout", "transient"],
    // A reset connection beside a missing blob: transient, not ambiguous.
    ["connection reset by peer while fetching: blob unknown", "network", "transient"],
  ])("%s → %s (%s)", (text, cls, retry) => {
    const c = classify(text);
    expect([c.cls, c.retry]).toEqual([cls, retry]);
  });
});

describe("retry and attempts per class", () => {
  it.each([
    ["daemon-unavailable.no-socket.txt", "daemon-unavailable", "never"],
    ["disk-full.no-space.txt", "disk-full", "never"],
    ["bad-reference.empty-tag.txt", "bad-reference", "never"],
    ["denied.403.txt", "denied", "never"],
    ["unauthorized.wrong-password.txt", "unauthorized", "never"],
    ["not-found.repository.txt", "not-found", "never"],
    ["registry-unavailable.502-html.txt", "registry-unavailable", "transient"],
    ["network.refused.txt", "network", "transient"],
  ])("%s: %s, retry %s", (file, cls, retry) => {
    const c = classify(fixture(file));
    expect([c.cls, c.retry]).toEqual([cls, retry]);
  });
  it.each([
    ["unsupported manifest", "never"],
    ["x509: certificate signed by unknown authority", "never"],
    ["context deadline exceeded", "transient"],
    ["something nobody has seen before", "ambiguous"],
  ] as const)("%s: retry %s", (text, retry) => {
    expect(classify(text).retry).toBe(retry);
  });
  it.each([
    // never: one attempt whatever the maximum
    ["never", 1, 1],
    ["never", 10, 1],
    // ambiguous: at most 3, never more than configured
    ["ambiguous", 1, 1],
    ["ambiguous", 2, 2],
    ["ambiguous", 3, 3],
    ["ambiguous", 4, 3],
    ["ambiguous", 20, 3],
    // transient: all configured attempts
    ["transient", 1, 1],
    ["transient", 7, 7],
  ] as const)("%s with at most %i: %i attempt(s)", (retry, max, n) => {
    expect(attemptsFor(retry, max)).toBe(n);
  });
});

describe("errorLine: docker's last error line, prefix dropped", () => {
  it.each([
    // The last error line, not the first: docker prints progress and earlier failures before it.
    [
      "Error response from daemon: Get https://r/v2/: net/http: TLS handshake timeout\nError response from daemon: manifest unknown",
      "manifest unknown",
    ],
    // An error line followed by a line that is no error: the error line.
    ["Error response from daemon: manifest unknown\nSee 'docker pull --help'.", "manifest unknown"],
    ["1.0: Pulling from coop/app\nfailed to register layer\nDigest: sha256:abc", "failed to register layer"],
    // No error line: the last non-empty line, trailing blank lines ignored.
    ["1.0: Pulling from coop/app\nsomething odd\n\n   \n", "something odd"],
    ["first\nsecond", "second"],
    // Surrounding white space and CRLF endings trimmed.
    ["   Error: boom   \r\n", "boom"],
    // Each prefix dropped, with any spacing after its colon; only at the start of the line.
    ["Error response from daemon: denied", "denied"],
    ["Error response from daemon:denied", "denied"],
    ["Error response from daemon:   denied", "denied"],
    ["Error: manifest unknown", "manifest unknown"],
    ["Error:manifest unknown", "manifest unknown"],
    ["Error:   manifest unknown", "manifest unknown"],
    ["pull failed: Error: manifest unknown", "pull failed: Error: manifest unknown"],
    ["pull failed: Error response from daemon: denied", "pull failed: Error response from daemon: denied"],
    ["", ""],
    ["\n\n", ""],
  ])("%j → %j", (output, line) => {
    expect(errorLine(output)).toBe(line);
  });
  it("classify reports that line as the message", () => {
    expect(classify("Error response from daemon: x\nError: manifest unknown\n").message).toBe(
      "manifest unknown",
    );
    expect(classify("something nobody has seen before").message).toBe("something nobody has seen before");
  });
});
