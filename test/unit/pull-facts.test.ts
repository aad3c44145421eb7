// Gathering the planner's facts (src/pull/facts.ts), with the engine passed in and the registry
// client replaced (its HTTP is tested in test/unit/registry.test.ts and against a real registry in
// the integration tests): what each reference names in the store, the lookup by the registry's
// digest for tags whose image lacks it, and which references the registries are asked about, with
// which Hub override, and how their answers become facts.
import { describe, expect, it, vi } from "vitest";
import type { Engine, ImageInspect } from "../../src/docker/engine.js";
import { parseReference } from "../../src/model/reference.js";
import { addDigestLookups, gatherLocal, gatherRegistry } from "../../src/pull/facts.js";
import type { LocalFacts, RegistryFact, WantedImage } from "../../src/pull/plan.js";
import type { DigestAnswer, RegistryClientOptions } from "../../src/registry/client.js";

const registry = vi.hoisted(() => ({
  options: [] as unknown[],
  asked: [] as string[][],
  answers: new Map<string, unknown>(),
}));

vi.mock("../../src/registry/client.js", () => ({
  RegistryClient: class {
    constructor(o: unknown) {
      registry.options.push(o);
    }
    async resolveDigests(refs: readonly { canonical: string }[]) {
      registry.asked.push(refs.map((r) => r.canonical));
      return {
        answers: registry.answers,
        quotas: [{ registry: "docker.io", endpoint: "registry-1.docker.io", remaining: 7 }],
      };
    }
  },
}));

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const ID1 = `sha256:${"a".repeat(64)}`;
const ID2 = `sha256:${"b".repeat(64)}`;

const wanted = (ref: string): WantedImage => {
  const p = parseReference(ref);
  if (!p.ok) throw new Error(p.reason);
  return { ref, parsed: p.ref, service: "web", file: "compose.yml", alsoUsedBy: [] };
};

/** An engine whose store holds `images` (by reference), recording what it was asked. */
function fakeEngine(images: Record<string, Partial<ImageInspect>>) {
  const inspected: string[] = [];
  let registryConfigs = 0;
  const engine = {
    inspectImage: async (ref: string) => {
      inspected.push(ref);
      return images[ref] as ImageInspect | undefined;
    },
    registryConfig: async () => {
      registryConfigs++;
      return undefined;
    },
  } as unknown as Engine;
  return { engine, inspected, registryConfigs: () => registryConfigs };
}

describe("gatherLocal: what each reference names in the store", () => {
  it("one inspect per reference; an image without RepoDigests has none; a missing one is undefined", async () => {
    const { engine, inspected } = fakeEngine({
      "nginx:1": { Id: ID1, RepoDigests: [`nginx@${D1}`] },
      "app:2": { Id: ID2 },
    });
    const got = await gatherLocal(engine, [wanted("nginx:1"), wanted("app:2"), wanted("gone:3")]);
    expect(inspected.sort()).toEqual(["app:2", "gone:3", "nginx:1"]);
    expect(Object.fromEntries(got)).toEqual({
      "nginx:1": { byRef: { id: ID1, repoDigests: [`nginx@${D1}`] } },
      "app:2": { byRef: { id: ID2, repoDigests: [] } },
      "gone:3": { byRef: undefined },
    });
  });
});

describe("addDigestLookups: the registry's digest looked up when the tag's image lacks it", () => {
  it("looks up repo@digest only where needed, and records what it names", async () => {
    const { engine, inspected } = fakeEngine({
      [`docker.io/library/nginx@${D2}`]: { Id: ID2, RepoDigests: [`nginx@${D2}`] },
    });
    const w = [
      wanted("nginx:1"),
      wanted("r.example:5000/a/b:1"),
      wanted("redis:7"),
      wanted("up:1"),
      wanted("x:1"),
    ];
    const facts = new Map<string, LocalFacts>([
      // The tag names an older image: the new digest is found under another image.
      ["nginx:1", { byRef: { id: ID1, repoDigests: [`nginx@${D1}`] } }],
      // Not in the store at all, and the digest is not either.
      ["r.example:5000/a/b:1", { byRef: undefined }],
      // The registry could not say: nothing to look up.
      ["redis:7", { byRef: undefined }],
      // The image already holds the digest: nothing to look up.
      ["up:1", { byRef: { id: ID1, repoDigests: [`up@${D1}`] } }],
      // x:1 has no local facts: nothing to look up.
    ]);
    const reg = new Map<string, RegistryFact>([
      ["nginx:1", { digest: D2, endpoint: "registry-1.docker.io" }],
      ["r.example:5000/a/b:1", { digest: D1, endpoint: "r.example:5000" }],
      ["redis:7", { error: "unauthorized", errorClass: "unauthorized", endpoint: undefined }],
      ["up:1", { digest: D1, endpoint: "registry-1.docker.io" }],
      ["x:1", { digest: D1, endpoint: "registry-1.docker.io" }],
    ]);
    await addDigestLookups(engine, w, facts, reg);
    expect(inspected.sort()).toEqual([`docker.io/library/nginx@${D2}`, `r.example:5000/a/b@${D1}`]);
    expect(facts.get("nginx:1")).toEqual({
      byRef: { id: ID1, repoDigests: [`nginx@${D1}`] },
      byDigest: { id: ID2, repoDigests: [`nginx@${D2}`] },
    });
    expect(facts.get("r.example:5000/a/b:1")).toEqual({ byRef: undefined, byDigest: undefined });
    expect("byDigest" in facts.get("redis:7")!).toBe(false);
    expect("byDigest" in facts.get("up:1")!).toBe(false);
    expect(facts.has("x:1")).toBe(false);
  });
});

describe("gatherRegistry: which tags are asked about, and their answers as facts", () => {
  const gather = (w: WantedImage[], env: NodeJS.ProcessEnv = {}) => {
    registry.options.length = 0;
    registry.asked.length = 0;
    const e = fakeEngine({});
    const signal = new AbortController().signal;
    const credentials = { get: async () => undefined };
    return {
      e,
      got: gatherRegistry(e.engine, w, { env, credentials, signal, requestTimeoutMs: 1234 }),
      signal,
      credentials,
    };
  };

  it("digest references only: no registry asked, not even the daemon's registry settings", async () => {
    const { e, got } = gather([wanted(`nginx@${D1}`), wanted(`r.example/a@${D2}`)]);
    expect(await got).toEqual({ facts: new Map(), quotas: [] });
    expect(e.registryConfigs()).toBe(0);
    expect(registry.options).toHaveLength(0);
  });

  it("asks about the tags only, and makes each answer a digest or a classified error", async () => {
    registry.answers = new Map<string, DigestAnswer>([
      [
        "docker.io/library/nginx:1",
        { ok: true, digest: D2, endpoint: "registry-1.docker.io", mediaType: undefined },
      ],
      [
        "r.example/a:1",
        {
          ok: false,
          error: "r.example: manifest unknown",
          lastError: "manifest for r.example/a:1 not found: manifest unknown",
          endpoint: "r.example",
        },
      ],
    ]);
    const { e, got, signal, credentials } = gather([
      wanted("nginx:1"),
      wanted(`pinned@${D1}`),
      wanted("r.example/a:1"),
      // Not answered (a registry the client gave up on): no fact.
      wanted("quiet:1"),
    ]);
    const r = await got;
    expect(registry.asked).toEqual([
      ["docker.io/library/nginx:1", "r.example/a:1", "docker.io/library/quiet:1"],
    ]);
    expect(e.registryConfigs()).toBe(1);
    expect(Object.fromEntries(r.facts)).toEqual({
      "nginx:1": { digest: D2, endpoint: "registry-1.docker.io" },
      "r.example/a:1": {
        error: "r.example: manifest unknown",
        errorClass: "not-found",
        endpoint: "r.example",
      },
    });
    expect(r.quotas).toEqual([{ registry: "docker.io", endpoint: "registry-1.docker.io", remaining: 7 }]);
    const o = registry.options[0] as RegistryClientOptions;
    expect(o).toMatchObject({ hubOverride: undefined, signal, credentials, requestTimeoutMs: 1234 });
  });

  it.each([
    [{ IMAGEKEEPER_HUB_REGISTRY: "http://127.0.0.1:5999" }, "http://127.0.0.1:5999"],
    // Set but empty: as if unset.
    [{ IMAGEKEEPER_HUB_REGISTRY: "" }, undefined],
    [{}, undefined],
  ])("IMAGEKEEPER_HUB_REGISTRY %j → hubOverride %j", async (env, hubOverride) => {
    registry.answers = new Map();
    const { got } = gather([wanted("nginx:1")], env);
    await got;
    expect((registry.options[0] as RegistryClientOptions).hubOverride).toBe(hubOverride);
  });
});
