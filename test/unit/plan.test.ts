import { describe, expect, it } from "vitest";
import { dedupeImages, planPulls } from "../../src/pull/plan.js";

const D = `sha256:${"b".repeat(64)}`;
const MUTABLE = ["latest", "main"];

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

describe("planPulls", () => {
  const imgs = dedupeImages(
    ["nginx:1.25", "nginx", "nginx:main", `redis@${D}`, "app:2.0"].map((ref, i) => ({
      ref,
      service: `s${i}`,
      file: "c.yml",
    })),
  );
  const present = new Map<string, string | undefined>([
    ["nginx:1.25", "sha256:1"],
    ["nginx", "sha256:2"],
    ["nginx:main", "sha256:3"],
    [`redis@${D}`, "sha256:4"],
    ["app:2.0", undefined],
  ]);
  const table = (policy: "auto" | "missing" | "always") =>
    Object.fromEntries(
      planPulls(imgs, present, policy, MUTABLE).map((p) => [p.ref, `${p.action}: ${p.reason}`]),
    );

  it("auto: skip present pinned tags and digests, refresh mutable tags, pull what is missing", () => {
    expect(table("auto")).toEqual({
      "app:2.0": "pull: missing",
      nginx: 'pull: mutable tag "latest": refresh',
      "nginx:1.25": "skip: pinned tag present",
      "nginx:main": 'pull: mutable tag "main": refresh',
      [`redis@${D}`]: "skip: digest present",
    });
  });
  it("missing: pull only what is absent, even a mutable tag", () => {
    expect(table("missing")).toEqual({
      "app:2.0": "pull: missing",
      nginx: "skip: present (policy missing)",
      "nginx:1.25": "skip: present (policy missing)",
      "nginx:main": "skip: present (policy missing)",
      [`redis@${D}`]: "skip: present (policy missing)",
    });
  });
  it("always: pull everything", () => {
    expect(table("always")).toEqual({
      "app:2.0": "pull: policy always",
      nginx: "pull: policy always",
      "nginx:1.25": "pull: policy always",
      "nginx:main": "pull: policy always",
      [`redis@${D}`]: "pull: policy always",
    });
  });
});
