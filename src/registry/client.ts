// The registry client: for each tag, the digest the registry would give the docker daemon now (a
// manifest HEAD, which Docker Hub does not count as a pull), and the pull quota those answers carry.
// Per registry endpoint: one ping to learn its scheme and challenge (skipped for Docker Hub, whose
// token service is fixed), one token for all its repositories (scopes together, reused for the
// run), then every HEAD in parallel. Endpoints are tried in the daemon's order (mirrors, then the
// registry, src/registry/endpoints.ts); a tag that fails on one is asked of the next.
// Spec: https://distribution.github.io/distribution/spec/api/#existing-manifests
import type { Challenge } from "../auth/challenge.js";
import { parseChallenge } from "../auth/challenge.js";
import type { RegistryCredential } from "../auth/credentials.js";
import { isLoopbackHost } from "../auth/registry.js";
import { basicAuth, pullScope, safeRealm, tokenFrom, tokenRequest } from "../auth/token.js";
import { logger } from "../log.js";
import type { ImageRef } from "../model/reference.js";
import { type DaemonRegistryConfig, endpointsFor, type RegistryEndpoint, type Scheme } from "./endpoints.js";
import { parseQuotaHeaders, type QuotaHeaders } from "./quota.js";
import {
  manifestFailure,
  manifestHeaders,
  manifestUrl,
  pingUrl,
  statusLine,
  validDigest,
} from "./requests.js";
import {
  closeConnections,
  type HttpAnswer,
  httpRequest,
  type HttpRequest,
  TransportError,
} from "./transport.js";

export type DigestAnswer =
  | {
      ok: true;
      digest: string;
      /** host[:port] that answered (a mirror, or the registry). */
      endpoint: string;
      mediaType: string | undefined;
    }
  | {
      ok: false;
      /** What each endpoint said, in order. */
      error: string;
      /** The last endpoint's answer alone (what the daemon would report). */
      lastError: string;
      endpoint: string | undefined;
    };

export interface QuotaObservation extends QuotaHeaders {
  /** The registry as image references name it ("docker.io", "127.0.0.1:5000"). */
  registry: string;
  /** host[:port] that answered. */
  endpoint: string;
  /** Epoch ms of the answer. */
  at: number;
}

export interface ResolveResult {
  /** By the reference's canonical form. */
  answers: Map<string, DigestAnswer>;
  /** One per registry and endpoint that sent quota headers (the lowest `remaining` seen). */
  quotas: QuotaObservation[];
}

export interface CredentialLookup {
  get(key: string): Promise<RegistryCredential | undefined>;
}

export interface RegistryClientOptions {
  daemon: DaemonRegistryConfig;
  credentials: CredentialLookup;
  /** Ask this URL instead of Docker Hub's API for Docker Hub names (IMAGEKEEPER_HUB_REGISTRY). */
  hubOverride?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Per request (default 15 s, the daemon's own ping timeout). */
  requestTimeoutMs?: number;
  now?: () => number;
}

type Auth =
  { kind: "none" } | { kind: "basic"; challenge: Challenge } | { kind: "bearer"; challenge: Challenge };

class Failure extends Error {}

/** What one endpoint knows after its ping: scheme and how it wants to be authenticated. */
interface Discovered {
  scheme: Scheme;
  auth: Auth;
}

export class RegistryClient {
  private readonly tokens = new Map<string, Promise<string>>();
  private readonly discovered = new Map<string, Promise<Discovered>>();
  private readonly quotas = new Map<string, QuotaObservation>();
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly o: RegistryClientOptions) {
    this.timeoutMs = o.requestTimeoutMs ?? 15_000;
    this.now = o.now ?? Date.now;
  }

  /** The current digest of every tagged reference (digest references are not asked about). */
  async resolveDigests(refs: readonly ImageRef[]): Promise<ResolveResult> {
    const byDomain = new Map<string, ImageRef[]>();
    for (const r of refs) {
      if (r.digest) continue;
      const list = byDomain.get(r.domain) ?? [];
      list.push(r);
      byDomain.set(r.domain, list);
    }
    const answers = new Map<string, DigestAnswer>();
    try {
      await Promise.all(
        [...byDomain].map(async ([domain, list]) => {
          for (const [k, v] of await this.resolveDomain(domain, list)) answers.set(k, v);
        }),
      );
    } finally {
      closeConnections();
    }
    return { answers, quotas: [...this.quotas.values()] };
  }

  private async resolveDomain(domain: string, refs: ImageRef[]): Promise<Map<string, DigestAnswer>> {
    const out = new Map<string, DigestAnswer>();
    const errors = new Map<string, string[]>();
    let pending = refs;
    let last: { endpoint: string; errors: Map<string, string> } | undefined;
    for (const ep of endpointsFor({ domain }, this.o.daemon, this.o.hubOverride)) {
      if (!pending.length) break;
      const got = await this.askEndpoint(domain, ep, pending);
      const failed = new Map<string, string>();
      for (const r of pending) {
        const a = got.get(r.canonical)!;
        if ("digest" in a)
          out.set(r.canonical, { ok: true, digest: a.digest, endpoint: ep.host, mediaType: a.mediaType });
        else {
          failed.set(r.canonical, a.error);
          errors.set(r.canonical, [
            ...(errors.get(r.canonical) ?? []),
            `${ep.mirror ? "mirror " : ""}${ep.host}: ${a.error}`,
          ]);
        }
      }
      last = { endpoint: ep.host, errors: failed };
      pending = pending.filter((r) => failed.has(r.canonical));
    }
    for (const r of pending) {
      const all = errors.get(r.canonical) ?? [];
      out.set(r.canonical, {
        ok: false,
        error: all.length > 1 ? all.join("; ") : (last?.errors.get(r.canonical) ?? "not asked"),
        lastError: last?.errors.get(r.canonical) ?? "not asked",
        endpoint: last?.endpoint,
      });
    }
    return out;
  }

  /** Every ref's answer from one endpoint: a digest, or why not. */
  private async askEndpoint(
    domain: string,
    ep: RegistryEndpoint,
    refs: ImageRef[],
  ): Promise<Map<string, { digest: string; mediaType: string | undefined } | { error: string }>> {
    const out = new Map<string, { digest: string; mediaType: string | undefined } | { error: string }>();
    let d: Discovered;
    try {
      d = await this.discover(ep);
    } catch (e) {
      for (const r of refs) out.set(r.canonical, { error: (e as Error).message });
      return out;
    }
    const cred = await this.credentialFor(ep, d.scheme);
    let authorization: string | undefined;
    try {
      authorization = await this.authorization(
        ep,
        d,
        refs.map((r) => pullScope(r.path)),
        cred,
      );
    } catch (e) {
      for (const r of refs) out.set(r.canonical, { error: (e as Error).message });
      return out;
    }
    const first = await Promise.all(refs.map((r) => this.head(domain, ep, d.scheme, r, authorization)));
    // A 401 despite the ping (a registry that wants a token for some repositories only, or whose
    // ping lied): one more token for exactly those scopes, from the 401's own challenge.
    const retry = refs.filter((_r, i) => first[i]!.status === 401);
    let second: typeof first = [];
    if (retry.length) {
      const ch = parseChallenge(first[refs.indexOf(retry[0]!)]!.challenge);
      if (ch && (ch.scheme === "bearer" || ch.scheme === "basic")) {
        const scopes = retry.map((r) => pullScope(r.path));
        if (ch.params.scope) scopes.push(...ch.params.scope.split(" "));
        try {
          const again = await this.authorization(
            ep,
            { scheme: d.scheme, auth: { kind: ch.scheme, challenge: ch } },
            scopes,
            cred,
          );
          // Nothing new to offer (no credential for a Basic registry): the 401 stands.
          if (again !== undefined && again !== authorization)
            second = await Promise.all(retry.map((r) => this.head(domain, ep, d.scheme, r, again)));
        } catch (e) {
          second = retry.map(() => ({ status: 0, error: (e as Error).message }));
        }
      }
    }
    refs.forEach((r, i) => {
      const j = retry.indexOf(r);
      const a = j >= 0 && second[j] ? second[j]! : first[i]!;
      out.set(
        r.canonical,
        a.digest ? { digest: a.digest, mediaType: a.mediaType } : { error: a.error ?? "no digest" },
      );
    });
    return out;
  }

  /** Ping /v2/ once per endpoint (per run): which scheme answers, and which challenge it sends. */
  private discover(ep: RegistryEndpoint): Promise<Discovered> {
    let p = this.discovered.get(ep.host);
    if (!p) {
      p = this.ping(ep);
      this.discovered.set(ep.host, p);
    }
    return p;
  }

  private async ping(ep: RegistryEndpoint): Promise<Discovered> {
    if (ep.knownChallenge)
      return { scheme: ep.schemes[0]!, auth: { kind: "bearer", challenge: ep.knownChallenge } };
    let lastError: Error | undefined;
    for (const scheme of ep.schemes) {
      let a: HttpAnswer;
      try {
        a = await this.send({ method: "GET", url: pingUrl(scheme, ep.host), verifyTls: ep.verifyTls });
      } catch (e) {
        lastError = e as Error;
        continue;
      }
      if (a.status === 401) {
        const ch = parseChallenge(header(a, "www-authenticate"));
        if (ch?.scheme === "bearer" && ch.params.realm)
          return { scheme, auth: { kind: "bearer", challenge: ch } };
        if (ch?.scheme === "basic") return { scheme, auth: { kind: "basic", challenge: ch } };
        return { scheme, auth: { kind: "none" } };
      }
      if (a.status >= 500)
        throw new Failure(
          `unexpected status from GET request to ${scheme}://${ep.host}/v2/: ${statusLine(a.status)}`,
        );
      return { scheme, auth: { kind: "none" } };
    }
    throw lastError ?? new Failure(`no scheme to reach ${ep.host}`);
  }

  /**
   * The credential for an endpoint, if it may travel there: over https, or plain http to a
   * loopback host (the daemon also sends it over http to any insecure registry; we do not).
   */
  private async credentialFor(ep: RegistryEndpoint, scheme: Scheme): Promise<RegistryCredential | undefined> {
    if (scheme === "http" && !isLoopbackHost(ep.host)) return undefined;
    return this.o.credentials.get(ep.credentialKey);
  }

  private async authorization(
    ep: RegistryEndpoint,
    d: Discovered,
    scopes: string[],
    cred: RegistryCredential | undefined,
  ): Promise<string | undefined> {
    if (d.auth.kind === "none") return undefined;
    if (d.auth.kind === "basic")
      return cred?.username && cred.password !== undefined
        ? basicAuth(cred.username, cred.password)
        : undefined;
    const challenge = d.auth.challenge;
    const realm = safeRealm(challenge.params.realm ?? "");
    if (!realm.ok) throw new Failure(`${ep.host}: ${realm.reason}; refused to ask it for a token`);
    const sorted = [...new Set(scopes)].sort();
    // One token per registry, scope set and credential: reused for the whole run.
    const key = `${realm.url.href}|${challenge.params.service ?? ""}|${sorted.join(" ")}|${cred?.serverAddress ?? ""}:${cred?.username ?? ""}`;
    let p = this.tokens.get(key);
    if (!p) {
      p = this.fetchToken(realm.url, challenge, sorted, cred);
      this.tokens.set(key, p);
    }
    return `Bearer ${await p}`;
  }

  private async fetchToken(
    realm: URL,
    challenge: Challenge,
    scopes: string[],
    cred: RegistryCredential | undefined,
  ): Promise<string> {
    const req = tokenRequest(realm, challenge, scopes, cred);
    const a = await this.send({ method: req.method, url: req.url, headers: req.headers, body: req.body });
    if (a.status === 401 || a.status === 403)
      throw new Failure(
        cred
          ? `unauthorized: incorrect username or password (the token service ${realm.host} answered ${statusLine(a.status)})`
          : `unauthorized: authentication required (the token service ${realm.host} answered ${statusLine(a.status)} to an anonymous request)`,
      );
    if (a.status !== 200)
      throw new Failure(
        `unexpected status from ${req.method} request to ${realm.origin}${realm.pathname}: ${statusLine(a.status)}`,
      );
    let json: unknown;
    try {
      json = JSON.parse(a.body);
    } catch {
      json = undefined;
    }
    const token = tokenFrom(json);
    if (!token) throw new Failure(`the token service ${realm.host} answered without a token`);
    return token;
  }

  private async head(
    domain: string,
    ep: RegistryEndpoint,
    scheme: Scheme,
    ref: ImageRef,
    authorization: string | undefined,
  ): Promise<{ status: number; digest?: string; mediaType?: string; error?: string; challenge?: string }> {
    const tag = ref.tag ?? "latest";
    const url = manifestUrl(scheme, ep.host, ref.path, tag);
    let a: HttpAnswer;
    try {
      a = await this.send({
        method: "HEAD",
        url,
        headers: manifestHeaders(authorization),
        verifyTls: ep.verifyTls,
      });
    } catch (e) {
      return { status: 0, error: (e as Error).message };
    }
    const q = parseQuotaHeaders(a.headers);
    if (q) this.noteQuota(domain, ep.host, q);
    const digest =
      a.status >= 200 && a.status < 300 ? validDigest(a.headers["docker-content-digest"]) : undefined;
    if (digest) return { status: a.status, digest, mediaType: header(a, "content-type") };
    if (a.status >= 200 && a.status < 300)
      return {
        status: a.status,
        error: `${url.origin}${url.pathname} answered without a Docker-Content-Digest`,
      };
    return {
      status: a.status,
      error: manifestFailure(url, a.status, ref.path, tag, q),
      challenge: a.status === 401 ? header(a, "www-authenticate") : undefined,
    };
  }

  private noteQuota(registry: string, endpoint: string, q: QuotaHeaders): void {
    const key = `${registry}|${endpoint}`;
    const seen = this.quotas.get(key);
    if (!seen || q.remaining < seen.remaining)
      this.quotas.set(key, { ...q, registry, endpoint, at: this.now() });
  }

  private async send(r: Omit<HttpRequest, "timeoutMs" | "signal">): Promise<HttpAnswer> {
    const started = this.now();
    try {
      const a = await httpRequest({ ...r, timeoutMs: this.timeoutMs, signal: this.o.signal });
      logger().debug(
        {
          method: r.method,
          url: `${r.url.origin}${r.url.pathname}`,
          status: a.status,
          ms: this.now() - started,
        },
        "registry",
      );
      return a;
    } catch (e) {
      if (e instanceof TransportError)
        logger().debug(
          { method: r.method, url: `${r.url.origin}${r.url.pathname}`, error: e.message },
          "registry",
        );
      throw e;
    }
  }
}

function header(a: HttpAnswer, name: string): string | undefined {
  const v = a.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
