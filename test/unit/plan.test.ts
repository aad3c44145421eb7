import { describe, expect, it } from "vitest";
import {
  dedupeImages,
  holdsDigest,
  type LocalFacts,
  localDigest,
  planPulls,
  type PullPolicy,
  type RegistryFact,
} from "../../src/pull/plan.js";

const dg = (c: string) => `sha256:${c.repeat(64)}`;
const OLD = dg("a");
const NEW = dg("b");
const PINNED = dg("c");

describe("dedupeImages", () => {
  it("merges the same image named two ways and keeps every user", () => {
    const out = dedupeImages([
      { ref: "nginx:1.25", service: "web", file: "compose.yml" },
      { ref: "docker.io/library/nginx:1.25", service: "worker", file: "compose.x.yml" },
      { ref: "postgres:16", service: "db", file: "compose.yml" },
    ]);
    expect(out.map((o) => [o.ref, o.service, o.alsoUsedBy])).toEqual([
      ["nginx:1.25", "web", [{ service: "worker", file: "compose.x.yml" }]],
      ["postgres:16", "db", []],
    ]);
  });
});

describe("localDigest / holdsDigest: RepoDigests compared by repository", () => {
  const img = { id: "sha256:1", repoDigests: [`nginx@${OLD}`, `127.0.0.1:5000/x/nginx@${NEW}`] };
  const ref = (r: string) => dedupeImages([{ ref: r, service: "s", file: "f" }])[0]!.parsed;
  it.each([
    ["nginx:1.25", OLD, true],
    ["docker.io/library/nginx:1.25", OLD, true],
    ["nginx:1.25", NEW, false],
    ["127.0.0.1:5000/x/nginx:1.25", NEW, true],
    ["127.0.0.1:5000/x/nginx:1.25", OLD, false],
    ["127.0.0.1:5000/y/nginx:1.25", NEW, false],
  ])("%s holds %s: %s", (r, digest, held) => {
    expect(holdsDigest(img, ref(r), digest)).toBe(held);
  });
  it("nothing holds a digest when there is no image", () => {
    expect(holdsDigest(undefined, ref("nginx:1.25"), OLD)).toBe(false);
  });
  it.each([
    ["nginx:1.25", OLD],
    ["127.0.0.1:5000/x/nginx:1", NEW],
    ["redis:7", undefined],
  ])("the local digest of %s is %s", (r, digest) => {
    expect(localDigest(img, ref(r))).toBe(digest);
  });
});

describe("planPulls", () => {
  // One image per row of the decision table.
  const refs = {
    same: "coop/same:1.0", // local image holds the registry's digest
    moved: "coop/moved:1.0", // tag moved upstream: local has OLD, registry says NEW
    staleTag: "coop/stale:1.0", // local tag names OLD, but NEW is in the store under another image
    built: "coop/built:1.0", // local image without any digest from this repository
    absent: "coop/absent:1.0", // not in the store
    downPresent: "coop/down-here:1.0", // registry unreachable, image present
    downAbsent: "coop/down-gone:1.0", // registry unreachable, image absent
    digestHere: `coop/pinned@${PINNED}`, // digest reference, present
    digestGone: `coop/gone@${PINNED}`, // digest reference, absent
  } as const;
  const imgs = dedupeImages(Object.values(refs).map((ref, i) => ({ ref, service: `s${i}`, file: "c.yml" })));
  const here = (id: string, repo: string, digest?: string) => ({
    id,
    repoDigests: digest ? [`${repo}@${digest}`] : [],
  });
  const local = new Map<string, LocalFacts>([
    [refs.same, { byRef: here("sha256:same", "coop/same", NEW) }],
    [refs.moved, { byRef: here("sha256:moved-old", "coop/moved", OLD), byDigest: undefined }],
    [
      refs.staleTag,
      {
        byRef: here("sha256:stale-old", "coop/stale", OLD),
        byDigest: here("sha256:stale-new", "coop/stale", NEW),
      },
    ],
    [refs.built, { byRef: here("sha256:built", "coop/built") }],
    [refs.absent, { byRef: undefined }],
    [refs.downPresent, { byRef: here("sha256:down", "coop/down-here", OLD) }],
    [refs.downAbsent, { byRef: undefined }],
    [refs.digestHere, { byRef: here("sha256:pinned", "coop/pinned", PINNED) }],
    [refs.digestGone, { byRef: undefined }],
  ]);
  const down: RegistryFact = {
    error: 'Head "https://x/v2/": dial tcp x: connect: connection refused',
    errorClass: "network",
    endpoint: "x",
  };
  const registry = new Map<string, RegistryFact>([
    [refs.same, { digest: NEW, endpoint: "r" }],
    [refs.moved, { digest: NEW, endpoint: "r" }],
    [refs.staleTag, { digest: NEW, endpoint: "r" }],
    [refs.built, { digest: NEW, endpoint: "r" }],
    [refs.absent, { digest: NEW, endpoint: "r" }],
    [refs.downPresent, down],
    [refs.downAbsent, down],
  ]);
  const table = (policy: PullPolicy) =>
    Object.fromEntries(planPulls(imgs, local, registry, policy).map((p) => [p.ref, p]));

  it("auto: present means the store holds the registry's digest", () => {
    const t = table("auto");
    const row = (r: string) => [t[r]!.action, t[r]!.reason, t[r]!.presentId, t[r]!.digest, t[r]!.warning];
    expect(row(refs.same)).toEqual(["skip", "present: the registry's digest", "sha256:same", NEW, undefined]);
    expect(row(refs.moved)).toEqual([
      "pull",
      `tag moved: the registry has sha256:${"b".repeat(12)}, the store sha256:${"a".repeat(12)}`,
      undefined,
      NEW,
      undefined,
    ]);
    expect(row(refs.staleTag)).toEqual([
      "skip",
      "present: the registry's digest (the local tag names an older image)",
      "sha256:stale-new",
      NEW,
      undefined,
    ]);
    expect(row(refs.built)[0]).toBe("pull");
    expect(row(refs.built)[1]).toMatch(/has no digest from this repository/);
    expect(row(refs.absent)).toEqual(["pull", "missing", undefined, NEW, undefined]);
    expect(row(refs.digestHere)).toEqual(["skip", "digest present", "sha256:pinned", PINNED, undefined]);
    expect(row(refs.digestGone)).toEqual(["pull", "missing", undefined, PINNED, undefined]);
  });

  it("auto: an unreachable registry warns for a present image and pulls an absent one", () => {
    const t = table("auto");
    expect(t[refs.downPresent]).toMatchObject({
      action: "skip",
      presentId: "sha256:down",
      digest: OLD, // the local image's own digest of this repository
      reason: "present; the registry could not be asked",
    });
    expect(t[refs.downPresent]!.warning).toMatch(
      /connection refused.*using the local image, as the deploy will/,
    );
    expect(t[refs.downAbsent]).toMatchObject({ action: "pull", warning: undefined });
    expect(t[refs.downAbsent]!.reason).toMatch(
      /^missing \(the registry could not be asked: .*connection refused/,
    );
  });

  it("auto: a tag the registry was not asked about (no answer at all) is treated as unreachable", () => {
    const p = planPulls(imgs, local, new Map(), "auto");
    const same = p.find((x) => x.ref === refs.same)!;
    expect([same.action, same.warning !== undefined]).toEqual(["skip", true]);
    expect(p.find((x) => x.ref === refs.absent)!.action).toBe("pull");
  });

  it("missing: skip whatever the reference names in the store, whatever the registry says", () => {
    const t = table("missing");
    const actions = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, `${v.action}: ${v.reason}`]));
    expect(actions).toEqual({
      [refs.same]: "skip: present (policy missing)",
      [refs.moved]: "skip: present (policy missing)",
      [refs.staleTag]: "skip: present (policy missing)",
      [refs.built]: "skip: present (policy missing)",
      [refs.absent]: "pull: missing",
      [refs.downPresent]: "skip: present (policy missing)",
      [refs.downAbsent]: "pull: missing",
      [refs.digestHere]: "skip: present (policy missing)",
      [refs.digestGone]: "pull: missing",
    });
    expect(t[refs.same]!.presentId).toBe("sha256:same");
  });

  it("always: pull everything, carrying the digest the registry named", () => {
    const t = table("always");
    expect(Object.keys(t).sort()).toEqual(Object.values(refs).sort());
    expect(Object.values(t).every((p) => p.action === "pull" && p.reason === "policy always")).toBe(true);
    expect(t[refs.moved]!.digest).toBe(NEW);
    expect(t[refs.downPresent]!.digest).toBeUndefined();
    expect(t[refs.digestHere]!.digest).toBe(PINNED);
  });
});
