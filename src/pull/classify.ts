// Classifying a failed `docker pull` from its output. docker exits 1 for every failure, so the
// text is all we have (REFERENCE §2). Rules are tried in order, permanent ones first, because
// messages embed URLs and phrases of other classes (".../manifests/latest", "toomanyrequests" in a
// quota message). Each class says whether retrying can help and what the user should do.
import type { ErrorClass } from "./report.js";

export type Retry = "never" | "transient" | "ambiguous";

interface Rule {
  cls: ErrorClass;
  retry: Retry;
  re: RegExp;
}

const RULES: Rule[] = [
  // --- permanent ---
  // Docker Hub's pull quota: retrying only burns more of it. https://docs.docker.com/docker-hub/usage/
  { cls: "rate-limited", retry: "never", re: /reached your pull rate limit|increase-rate-limit/i },
  {
    cls: "daemon-unavailable",
    retry: "never",
    re: /Cannot connect to the Docker daemon|Is the docker daemon running|permission denied while trying to connect to the Docker daemon|docker\.sock: connect: (no such file|connection refused)/i,
  },
  { cls: "disk-full", retry: "never", re: /no space left on device/i },
  {
    cls: "bad-reference",
    retry: "never",
    re: /invalid reference format|invalid repository name|repository name must be lowercase|must be lowercase/i,
  },
  {
    cls: "unauthorized",
    retry: "never",
    re: /too many failed login attempts|incorrect username or password|no basic auth credentials|unauthorized: |authentication required|\b401 Unauthorized/i,
  },
  // Docker Hub answers "pull access denied … may require 'docker login'" both for private
  // repositories and for ones that do not exist.
  {
    cls: "denied",
    retry: "never",
    re: /pull access denied|requested access to the resource is denied|(^|: )denied(:|$)|insufficient_scope|\b403 Forbidden/im,
  },
  {
    cls: "unsupported",
    retry: "never",
    re: /no matching manifest for|unsupported manifest|cannot be used on this platform|schema 1 (image|manifest)|is not supported|unknown media type/i,
  },
  {
    cls: "not-found",
    retry: "never",
    re: /manifest unknown|manifest for \S+ not found|repository \S+ not found|name unknown|: not found\b|\b404 Not Found/i,
  },
  // "TLS handshake timeout" is a slow network, not a certificate problem: it must not match here.
  {
    cls: "tls",
    retry: "never",
    re: /x509: |tls: (failed|bad|first record|unrecognized|internal)|certificate (signed by unknown|has expired|is not valid|is valid for)|server gave HTTP response to HTTPS client/i,
  },
  // --- transient ---
  // A bare 429 without the quota text: Hub's abuse limit or a registry's own throttle.
  { cls: "throttled", retry: "transient", re: /toomanyrequests|too many requests|\b429\b/i },
  {
    cls: "registry-unavailable",
    retry: "transient",
    // "500 Internal Server Error", "502 Bad Gateway", "503 Service Unavailable", "504 Gateway Timeout"
    // are matched by their codes (the last alternative): the reason phrases add nothing.
    re: /unexpected (HTTP )?status[^\n]*\b5\d\d\b|status code 5\d\d|error from registry[^\n]*\b5\d\d\b|\b50[0-4]\b/i,
  },
  {
    cls: "timeout",
    retry: "transient",
    re: /i\/o timeout|TLS handshake timeout|Client\.Timeout exceeded|context deadline exceeded|net\/http: timeout|request canceled while waiting for connection/i,
  },
  {
    cls: "network",
    retry: "transient",
    re: /connection reset by peer|connection refused|broken pipe|network is unreachable|server misbehaving|unexpected EOF|\bEOF\b|http2: |use of closed network connection/i,
  },
  // May be a typo'd registry host or a passing DNS failure; a missing blob can be a registry still
  // replicating. Retry once or twice, then report.
  {
    cls: "network",
    retry: "ambiguous",
    re: /no such host|temporary failure in name resolution|blob unknown/i,
  },
];

export const HINTS: Record<ErrorClass, string> = {
  "rate-limited":
    "Docker Hub's pull quota is used up: log in with a Docker Hub PAT (imagekeeper auth login, docs/nixos.md) so pulls count against the account, or wait for the 6-hour window.",
  throttled:
    "The registry answered 429 (slow down): retried with backoff; lower --concurrency if it persists.",
  "not-found":
    "That tag or digest does not exist in the registry: check the image in the compose file and the version in the app .env.",
  unauthorized:
    "The registry wants credentials: log in as the user that pulls (imagekeeper auth login --registry R --username U --password-file F).",
  denied:
    "Access denied: the repository does not exist, or this account may not pull it; check the name and the login.",
  "bad-reference":
    "The image reference is malformed, usually an unset variable in the compose file: check the app .env.",
  tls: "TLS failed: the registry's certificate is not trusted here, or it speaks plain HTTP; add its CA, or list it in the daemon's insecure-registries.",
  "disk-full": "The disk holding Docker's data is full: run imagekeeper prune (or free space), then retry.",
  "daemon-unavailable":
    "The Docker daemon is not reachable: start it (systemctl start docker) and check this user's access (docker group).",
  unsupported:
    "The registry has no image for this platform or format: choose a tag built for this architecture.",
  "registry-unavailable":
    "The registry answered 5xx: retried; if it persists the registry is down, check its status page.",
  network:
    "The registry could not be reached: retried; check DNS, proxy and firewall, and the registry's host name.",
  timeout:
    "The pull did not finish in time: raise --timeout, or check the registry's speed and reachability.",
  interrupted:
    "The prepull was stopped (SIGINT/SIGTERM) during this pull; the daemon cancelled it. Run the prepull again.",
  unknown: "docker failed in a way imagekeeper does not recognise: read the message above.",
};

export interface Classification {
  cls: ErrorClass;
  retry: Retry;
  hint: string;
  /** The line of docker's output that says what went wrong. */
  message: string;
}

/** The meaningful line of docker pull's stderr: its last error line, without the daemon prefix. */
export function errorLine(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const err = [...lines]
    .reverse()
    .find((l) => /error|denied|unauthorized|not found|unknown|failed|refused|timeout|EOF|limit/i.test(l));
  return (err ?? lines.at(-1) ?? "").replace(/^Error response from daemon:\s*/, "").replace(/^Error:\s*/, "");
}

export function classify(output: string): Classification {
  const message = errorLine(output);
  for (const r of RULES) {
    if (r.re.test(output)) return { cls: r.cls, retry: r.retry, hint: HINTS[r.cls], message };
  }
  // Unrecognised: one more try costs little and may clear a passing fault.
  return { cls: "unknown", retry: "ambiguous", hint: HINTS.unknown, message };
}

/** Attempts allowed for a class, given the configured maximum. */
export function attemptsFor(retry: Retry, maxAttempts: number): number {
  if (retry === "never") return 1;
  if (retry === "ambiguous") return Math.min(maxAttempts, 3);
  return maxAttempts;
}
