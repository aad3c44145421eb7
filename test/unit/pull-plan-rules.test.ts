// The pull planner's rules that a one-line slip would break: one entry per distinct image, sorted;
// every user kept; what each policy does with present and absent images; the image ID passed on.
import { describe, expect, it } from "vitest";
import { dedupeImages, planPulls } from "../../src/pull/plan.js";

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

describe("planPulls", () => {
  const imgs = dedupeImages([
    use("app:2", "a"),
    use("nginx", "n"),
    use(`redis@${D}`, "r"),
    use("pg:16", "p"),
  ]);
  const absent = new Map<string, string | undefined>();
  const present = new Map<string, string | undefined>([
    ["app:2", "sha256:1"],
    ["nginx", "sha256:2"],
    [`redis@${D}`, "sha256:3"],
    ["pg:16", "sha256:4"],
  ]);
  const rows = (policy: "auto" | "missing" | "always", ids: ReadonlyMap<string, string | undefined>) =>
    planPulls(imgs, ids, policy, ["latest"]).map((p) => [p.ref, p.action, p.reason, p.presentId]);

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
  it("always: pulls present and absent images alike, keeping the present ID", () => {
    expect(rows("always", present).map((r) => [r[1], r[2], r[3]])).toEqual([
      ["pull", "policy always", "sha256:1"],
      ["pull", "policy always", "sha256:2"],
      ["pull", "policy always", "sha256:4"],
      ["pull", "policy always", "sha256:3"],
    ]);
    expect(rows("always", absent).every((r) => r[1] === "pull" && r[2] === "policy always")).toBe(true);
    expect(rows("always", absent)).toHaveLength(4);
  });
  it("auto: an untagged name is the mutable tag latest; absent pinned images are missing", () => {
    expect(rows("auto", absent)).toEqual([
      ["app:2", "pull", "missing", undefined],
      ["nginx", "pull", 'mutable tag "latest": refresh', undefined],
      ["pg:16", "pull", "missing", undefined],
      [`redis@${D}`, "pull", "missing", undefined],
    ]);
  });
  it("a present ID of undefined in the map is absent", () => {
    const m = new Map<string, string | undefined>([["app:2", undefined]]);
    expect(rows("missing", m)[0]).toEqual(["app:2", "pull", "missing", undefined]);
  });
});
