// Report entries made from a plan without pulling (src/pull/results.ts): the plan's own fields
// (alsoUsedBy, digest, warning only when there is one), a skipped image, a dry run's entry, and
// what the quota check makes of each image when it stops the prepull, with its exact error text.
import { describe, expect, it } from "vitest";
import type { PlannedImage } from "../../src/pull/plan.js";
import { plannedImage } from "../support/planned-image.js";
import type { QuotaCheck } from "../../src/pull/quota.js";
import { dryRunResult, presentResult, quotaStopResult, resultBase } from "../../src/pull/results.js";

const D1 = `sha256:${"1".repeat(64)}`;
const ID = `sha256:${"a".repeat(64)}`;

const image = plannedImage;

const BASE = { ref: "nginx:1", service: "web", file: "compose.yml", reason: "mutable tag" };

describe("resultBase: the plan's fields, the optional ones only when set", () => {
  it.each<[string, Partial<PlannedImage>, object]>([
    ["none set", {}, BASE],
    [
      "alsoUsedBy",
      { alsoUsedBy: [{ service: "worker", file: "compose.worker.yml" }] },
      { ...BASE, alsoUsedBy: [{ service: "worker", file: "compose.worker.yml" }] },
    ],
    ["digest", { digest: D1 }, { ...BASE, digest: D1 }],
    [
      "warning",
      { warning: "registry unreachable: using the local image" },
      { ...BASE, warning: "registry unreachable: using the local image" },
    ],
  ])("%s", (_what, over, want) => {
    expect(resultBase(image("nginx:1", over))).toEqual(want);
  });
});

describe("presentResult: a skipped image", () => {
  it.each<[Partial<PlannedImage>, object]>([
    [{ action: "skip" }, { ...BASE, action: "present", attempts: 0, durationMs: 0 }],
    [
      { action: "skip", presentId: ID, digest: D1 },
      { ...BASE, action: "present", attempts: 0, durationMs: 0, id: ID, digest: D1 },
    ],
  ])("%j", (over, want) => {
    expect(presentResult(image("nginx:1", over))).toEqual(want);
  });
});

describe("dryRunResult: what --dry-run reports", () => {
  it.each<[Partial<PlannedImage>, object]>([
    [
      { action: "pull" },
      { ...BASE, action: "not-attempted", attempts: 0, durationMs: 0, reason: "would pull: mutable tag" },
    ],
    [
      { action: "pull", digest: D1, presentId: ID },
      {
        ...BASE,
        action: "not-attempted",
        attempts: 0,
        durationMs: 0,
        reason: "would pull: mutable tag",
        digest: D1,
      },
    ],
    [
      { action: "skip", presentId: ID },
      { ...BASE, action: "present", attempts: 0, durationMs: 0, id: ID },
    ],
  ])("%j", (over, want) => {
    expect(dryRunResult(image("nginx:1", over))).toEqual(want);
  });
});

describe("quotaStopResult: each image when the quota check stops the prepull", () => {
  const check = (registry: string, needed: number, remaining: number): QuotaCheck => ({
    registry,
    endpoint: registry,
    limit: 100,
    remaining,
    windowSeconds: undefined,
    resetBy: undefined,
    source: undefined,
    needed,
  });
  const hub = check("docker.io", 3, 1);
  const ghcr = check("ghcr.io", 2, 0);

  it("an image from a registry short of quota fails as rate-limited with the shortfall", () => {
    expect(quotaStopResult(image("nginx:1"), [ghcr, hub])).toEqual({
      ...BASE,
      action: "failed",
      attempts: 0,
      durationMs: 0,
      errorClass: "rate-limited",
      error:
        "pull rate limit: this prepull needs 3 pulls from docker.io, 1 of 100 remain; nothing was pulled",
    });
    const g = quotaStopResult(image("ghcr.io/o/app:2"), [hub, ghcr]);
    expect(g.error).toBe(
      "pull rate limit: this prepull needs 2 pulls from ghcr.io, 0 of 100 remain; nothing was pulled",
    );
  });

  it.each([
    [[hub], "not started: the pull quota of docker.io is too small for this prepull"],
    [[hub, ghcr], "not started: the pull quota of docker.io, ghcr.io is too small for this prepull"],
  ])("an image from another registry is not attempted, naming the short ones (%#)", (short, error) => {
    expect(quotaStopResult(image("quay.io/o/db:1"), short)).toEqual({
      ref: "quay.io/o/db:1",
      service: "web",
      file: "compose.yml",
      reason: "mutable tag",
      action: "not-attempted",
      attempts: 0,
      durationMs: 0,
      error,
    });
  });

  it("a skipped image is present, whatever the quota", () => {
    expect(quotaStopResult(image("nginx:1", { action: "skip", presentId: ID }), [hub])).toEqual({
      ...BASE,
      action: "present",
      attempts: 0,
      durationMs: 0,
      id: ID,
    });
  });
});
