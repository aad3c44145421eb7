// The facts the pull planner decides on, gathered: what the local store holds (Engine API, over
// the socket, no network) and, unless the policy is `missing`, what the registries say each tag's
// digest is now (src/registry, loaded only then: a warm `missing` prepull loads no HTTP client).
import type { Engine, ImageInspect } from "../docker/engine.js";
import type { CredentialLookup, QuotaObservation } from "../registry/client.js";
import { classify } from "./classify.js";
import {
  holdsDigest,
  type LocalFacts,
  type LocalImage,
  type RegistryFact,
  type WantedImage,
} from "./plan.js";

const local = (i: ImageInspect | undefined): LocalImage | undefined =>
  i ? { id: i.Id, repoDigests: i.RepoDigests ?? [] } : undefined;

/** What each reference names in the store now: one GET /images/{ref}/json each, in parallel. */
export async function gatherLocal(
  engine: Engine,
  wanted: readonly WantedImage[],
): Promise<Map<string, LocalFacts>> {
  const found = await Promise.all(wanted.map((w) => engine.inspectImage(w.ref)));
  return new Map(wanted.map((w, i) => [w.ref, { byRef: local(found[i]) }]));
}

/**
 * For tags whose local image lacks the registry's digest, whether the store holds that digest under
 * another image (GET /images/{repo@digest}/json: the lookup swarm makes before it pulls).
 */
export async function addDigestLookups(
  engine: Engine,
  wanted: readonly WantedImage[],
  facts: Map<string, LocalFacts>,
  registry: ReadonlyMap<string, RegistryFact>,
): Promise<void> {
  await Promise.all(
    wanted.map(async (w) => {
      const r = registry.get(w.ref);
      const f = facts.get(w.ref);
      if (!r || !("digest" in r) || !f || holdsDigest(f.byRef, w.parsed, r.digest)) return;
      const byDigest = local(await engine.inspectImage(`${w.parsed.domain}/${w.parsed.path}@${r.digest}`));
      facts.set(w.ref, { ...f, byDigest });
    }),
  );
}

export interface RegistryGather {
  facts: Map<string, RegistryFact>;
  quotas: QuotaObservation[];
}

/**
 * Each tag's current digest from its registry, asked as the daemon asks when `stack deploy`
 * resolves images (mirrors first for Docker Hub names), with the pulling user's credentials.
 */
export async function gatherRegistry(
  engine: Engine,
  wanted: readonly WantedImage[],
  o: {
    env: NodeJS.ProcessEnv;
    /** The pulling user's credentials (shared with the pulls: a helper is asked once per run). */
    credentials: CredentialLookup;
    signal: AbortSignal;
    requestTimeoutMs: number;
  },
): Promise<RegistryGather> {
  const tagged = wanted.filter((w) => !w.parsed.digest);
  if (!tagged.length) return { facts: new Map(), quotas: [] };
  const [{ RegistryClient }, { daemonRegistryConfig }, rc] = await Promise.all([
    import("../registry/client.js"),
    import("../registry/daemon-config.js"),
    engine.registryConfig(),
  ]);
  const client = new RegistryClient({
    daemon: daemonRegistryConfig(rc),
    credentials: o.credentials,
    hubOverride: o.env.IMAGEKEEPER_HUB_REGISTRY || undefined,
    signal: o.signal,
    requestTimeoutMs: o.requestTimeoutMs,
  });
  const { answers, quotas } = await client.resolveDigests(tagged.map((w) => w.parsed));
  const facts = new Map<string, RegistryFact>();
  for (const w of tagged) {
    const a = answers.get(w.parsed.canonical);
    if (!a) continue;
    facts.set(
      w.ref,
      a.ok
        ? { digest: a.digest, endpoint: a.endpoint }
        : { error: a.error, errorClass: classify(a.lastError).cls, endpoint: a.endpoint },
    );
  }
  return { facts, quotas };
}
