// Where to ask about an image, in the order the docker daemon asks: for a Docker Hub name, each of
// the daemon's `registry-mirrors`, then Docker Hub itself; for any other registry, that registry
// (https, and for an insecure registry https without verification, then plain http). `docker stack
// deploy --resolve-image always` has the daemon resolve digests (GET /distribution/{name}/json),
// which walks exactly this list: moby tries a mirror first and falls back to upstream when the
// mirror fails. So the digest a deploy pins for a Hub name is normally the mirror's. Pure.
// moby: daemon/pkg/registry/service_v2.go (lookupV2Endpoints), daemon/server/router/distribution/
// distribution_routes.go (getDistributionInfo: "try the mirror first, but continue with upstream").
import { DOCKER_HUB_KEY } from "../auth/registry.js";
import type { Challenge } from "../auth/challenge.js";
import type { ImageRef } from "../model/reference.js";

/** Docker Hub's registry API. Its token service is fixed, so the first round trip can be the token. */
export const DOCKER_HUB_API = "registry-1.docker.io";
export const DOCKER_HUB_CHALLENGE: Challenge = {
  scheme: "bearer",
  params: { realm: "https://auth.docker.io/token", service: "registry.docker.io" },
};

/** What the daemon's registry settings say (GET /info, RegistryConfig). */
export interface DaemonRegistryConfig {
  /** `registry-mirrors`, as URLs. */
  mirrors: string[];
  /** `insecure-registries` given as CIDRs (the daemon adds 127.0.0.0/8). */
  insecureCidrs: string[];
  /** `insecure-registries` given as host[:port]. */
  insecureHosts: string[];
}

export const NO_DAEMON_REGISTRY_CONFIG: DaemonRegistryConfig = {
  mirrors: [],
  insecureCidrs: ["127.0.0.0/8"],
  insecureHosts: [],
};

export type Scheme = "https" | "http";

export interface RegistryEndpoint {
  /** host[:port] of the /v2/ API. */
  host: string;
  /** Tried in order until one answers at all. */
  schemes: Scheme[];
  /** false for an insecure registry: https without certificate checks, as the daemon does. */
  verifyTls: boolean;
  mirror: boolean;
  /** The docker client config key of the credentials this endpoint gets. */
  credentialKey: string;
  /** A challenge known without asking (Docker Hub's), saving the first round trip. */
  knownChallenge: Challenge | undefined;
}

function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function inCidr(ip: number, cidr: string): boolean {
  const [net, bitsText] = cidr.split("/");
  const base = net === undefined ? undefined : ipv4(net);
  const bits = Number(bitsText);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (ip & mask) >>> 0 === (base & mask) >>> 0;
}

/**
 * Whether the daemon treats `host` (host[:port]) as an insecure registry: listed by name, or an
 * IPv4 address (or localhost) inside an insecure CIDR. The daemon also resolves other names and
 * checks their addresses; we do not (a name resolving into 127.0.0.0/8 is the only common case,
 * and `localhost` is handled).
 */
export function isInsecureRegistry(host: string, cfg: DaemonRegistryConfig): boolean {
  if (cfg.insecureHosts.includes(host)) return true;
  const bare = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
  const ip = ipv4(bare === "localhost" ? "127.0.0.1" : bare);
  return ip !== undefined && cfg.insecureCidrs.some((c) => inCidr(ip, c));
}

function fromUrl(text: string): { host: string; scheme: Scheme } | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  try {
    const u = new URL(withScheme);
    if (u.protocol !== "https:" && u.protocol !== "http:") return undefined;
    return { host: u.host, scheme: u.protocol === "https:" ? "https" : "http" };
  } catch {
    return undefined;
  }
}

/**
 * The endpoints to ask about `ref`, in order. `hubOverride` (a URL) replaces Docker Hub's own API
 * (tests, and hosts that must never talk to Hub directly); mirrors still come first.
 */
export function endpointsFor(
  ref: Pick<ImageRef, "domain">,
  cfg: DaemonRegistryConfig,
  hubOverride?: string,
): RegistryEndpoint[] {
  if (ref.domain === "docker.io") {
    const out: RegistryEndpoint[] = [];
    for (const m of cfg.mirrors) {
      const u = fromUrl(m);
      if (!u) continue;
      out.push({
        host: u.host,
        schemes: [u.scheme],
        verifyTls: !isInsecureRegistry(u.host, cfg),
        mirror: true,
        credentialKey: DOCKER_HUB_KEY,
        knownChallenge: undefined,
      });
    }
    const o = hubOverride ? fromUrl(hubOverride) : undefined;
    out.push(
      o
        ? {
            host: o.host,
            schemes: [o.scheme],
            verifyTls: true,
            mirror: false,
            credentialKey: DOCKER_HUB_KEY,
            knownChallenge: undefined,
          }
        : {
            host: DOCKER_HUB_API,
            schemes: ["https"],
            verifyTls: true,
            mirror: false,
            credentialKey: DOCKER_HUB_KEY,
            knownChallenge: DOCKER_HUB_CHALLENGE,
          },
    );
    return out;
  }
  const insecure = isInsecureRegistry(ref.domain, cfg);
  return [
    {
      host: ref.domain,
      schemes: insecure ? ["https", "http"] : ["https"],
      verifyTls: !insecure,
      mirror: false,
      credentialKey: ref.domain,
      knownChallenge: undefined,
    },
  ];
}
