// The pull planner's rules that a one-line slip would break: one entry per distinct image, sorted;
// every user kept; what each policy does with present and absent images; the image ID passed on.
import { describe, expect, it } from "vitest";
import {
  dedupeImages,
  type LocalFacts,
  type PullPolicy,
  planPulls,
  type RegistryFact,
} from "../../src/pull/plan.js";

const D = `sha256:${"c".repeat(64)}`;
const use = (ref: string, service: string, file = "compose.yml") => ({ ref, service, file });

describe("dedupeImages", () => {
  it("sorted by reference as written, whatever the input order", () => {
    const out = dedupeImages([use("redis:7", "r"), use("app:1", "a"), use("nginx:1", "n"), use("b:1", "b")]);
    expect(out.map((o) => o.ref)).toEqual(["app:1", "b:1", "nginx:1", "redis:7"]);
  });
  it("the first spelling wins; later ones are users of it, in order", () => {
    const out = dedupeImages([
      use("docker.io/library/nginx:1", "web"),
      use("nginx:1", "worker", "compose.x.yml"),
      use("index.docker.io/library/nginx:1", "cron", "compose.y.yml"),
    ]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      ref: "docker.io/library/nginx:1",
      service: "web",
      file: "compose.yml",
      alsoUsedBy: [
        { service: "worker", file: "compose.x.yml" },
        { service: "cron", file: "compose.y.yml" },
      ],
    });
    expect(out[0]!.parsed.canonical).toBe("docker.io/library/nginx:1");
  });
  it("a tag and a digest of one repository are two images", () => {
    expect(dedupeImages([use("nginx:1", "a"), use(`nginx@${D}`, "b")]).map((o) => o.alsoUsedBy)).toEqual([
      [],
      [],
    ]);
  });
  it("an unparsed reference is a bug upstream, not bad input", () => {
    expect(() => dedupeImages([use("Nginx:1", "a")])).toThrow(
      "unparsed reference reached the planner: Nginx:1",
    );
  });
});

describe("planPulls: the policies other than auto", () => {
  const imgs = dedupeImages([
    use("app:2", "a"),
    use("nginx", "n"),
    use(`redis@${D}`, "r"),
    use("pg:16", "p"),
  ]);
  const at = (id: string): LocalFacts => ({ byRef: { id, repoDigests: [] } });
  const absent = new Map<string, LocalFacts>();
  const present = new Map<string, LocalFacts>([
    ["app:2", at("sha256:1")],
    ["nginx", at("sha256:2")],
    [`redis@${D}`, at("sha256:3")],
    ["pg:16", at("sha256:4")],
  ]);
  const noRegistry = new Map<string, RegistryFact>();
  const rows = (policy: PullPolicy, local: ReadonlyMap<string, LocalFacts>) =>
    planPulls(imgs, local, noRegistry, policy).map((p) => [p.ref, p.action, p.reason, p.presentId]);

  it("missing: pulls what is absent, skips what is present", () => {
    expect(rows("missing", absent)).toEqual([
      ["app:2", "pull", "missing", undefined],
      ["nginx", "pull", "missing", undefined],
      ["pg:16", "pull", "missing", undefined],
      [`redis@${D}`, "pull", "missing", undefined],
    ]);
    expect(rows("missing", present)).toEqual([
      ["app:2", "skip", "present (policy missing)", "sha256:1"],
      ["nginx", "skip", "present (policy missing)", "sha256:2"],
      ["pg:16", "skip", "present (policy missing)", "sha256:4"],
      [`redis@${D}`, "skip", "present (policy missing)", "sha256:3"],
    ]);
  });
  it("always: pulls present and absent images alike", () => {
    for (const local of [present, absent])
      expect(rows("always", local).map((r) => [r[0], r[1], r[2]])).toEqual([
        ["app:2", "pull", "policy always"],
        ["nginx", "pull", "policy always"],
        ["pg:16", "pull", "policy always"],
        [`redis@${D}`, "pull", "policy always"],
      ]);
  });
  it("auto without registry answers: present images are used with a warning, absent ones pulled", () => {
    const t = planPulls(imgs, present, noRegistry, "auto");
    expect(t.map((p) => [p.ref, p.action, p.warning === undefined])).toEqual([
      ["app:2", "skip", false],
      ["nginx", "skip", false],
      ["pg:16", "skip", false],
      [`redis@${D}`, "skip", true],
    ]);
    expect(planPulls(imgs, absent, noRegistry, "auto").map((p) => p.action)).toEqual([
      "pull",
      "pull",
      "pull",
      "pull",
    ]);
  });
});
